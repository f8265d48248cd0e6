"""``RuntimePolicy.distribution``, the production path of the choice, is ``combine`` of the policy's
probabilities: checked against ``combine`` itself and against the formula computed independently here,
``p ~ softmax(logits) ** (1 / T) * (1 + max(anomaly, 0)) ** w`` on the mask, for several temperatures and
anomaly weights, on anomaly scores that differ per target."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from envs.actions import N_HOLD, N_INTENSITIES, N_KINDS, PER_TARGET
from envs.observation import N_GLOBAL_FEATURES, N_TARGET_FEATURES
from policies.base import ANOMALY_COL, Decision
from policies.combine import combine
from policies.runtime import RuntimePolicy

ANOMALY = np.array([0.0, 3.0, 0.5, -1.0, 9.0, 0.0], dtype=np.float32)
"""Per target: none, high, low, negative (counts as none), very high, none."""


@pytest.fixture(scope="module")
def policy() -> RuntimePolicy:
    return RuntimePolicy.load()  # the shipped policy


def _decision() -> Decision:
    rng = np.random.default_rng(11)
    n = ANOMALY.size
    features = rng.uniform(0.0, 1.0, (n, N_TARGET_FEATURES)).astype(np.float32)
    features[:, ANOMALY_COL] = ANOMALY
    mask = rng.random((n, N_KINDS, N_INTENSITIES, N_HOLD)) < 0.6
    mask[5] = False  # a target with nothing allowed
    return Decision(targets=tuple(f"ns/Deployment/w{i}" for i in range(n)), features=features,
                    glob=rng.uniform(0.0, 1.0, N_GLOBAL_FEATURES).astype(np.float32), mask=mask)


def _expected(policy: RuntimePolicy, d: Decision, temperature: float, weight: float) -> NDArray[np.float64]:
    """The formula, in float64, written out without the code under test."""
    logits = policy.logits(d.features, d.glob).reshape(-1).astype(np.float64)
    allowed = d.flat_mask
    softmax = np.exp(logits[allowed] - logits[allowed].max())
    softmax /= softmax.sum()
    boost = (1.0 + np.maximum(ANOMALY.astype(np.float64), 0.0)) ** weight
    unnormalised = softmax ** (1.0 / temperature) * np.repeat(boost, PER_TARGET)[allowed]
    p = np.zeros(allowed.size)
    p[allowed] = unnormalised / unnormalised.sum()
    return p


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("weight", [0.0, 0.5, 2.0])
def test_distribution_is_combine_of_the_probabilities(policy: RuntimePolicy, temperature: float,
                                                      weight: float) -> None:
    d = _decision()
    fused = policy.distribution(d, temperature=temperature, anomaly_weight=weight)
    reference = combine(policy.probabilities(d), d.anomaly, d.flat_mask, temperature=temperature,
                        anomaly_weight=weight)
    expected = _expected(policy, d, temperature, weight)
    assert fused.shape == expected.shape and fused.sum() == pytest.approx(1.0)
    assert not fused[~d.flat_mask].any()
    np.testing.assert_allclose(fused, reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fused, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(reference, expected, rtol=0, atol=1e-9)


def test_temperature_and_anomaly_weight_move_the_mass_the_right_way(policy: RuntimePolicy) -> None:
    d = _decision()

    def per_target(p: NDArray[np.float64]) -> NDArray[np.float64]:
        return p.reshape(ANOMALY.size, PER_TARGET).sum(axis=1)

    def entropy(p: NDArray[np.float64]) -> float:
        q = p[p > 0]
        return float(-(q * np.log(q)).sum())

    cold, warm, hot = (policy.distribution(d, temperature=t, anomaly_weight=0.0) for t in (0.5, 1.0, 2.0))
    assert entropy(cold) < entropy(warm) < entropy(hot)  # a higher temperature spreads the choice
    plain = per_target(warm)
    weighted = per_target(policy.distribution(d, temperature=1.0, anomaly_weight=2.0))
    ratio = weighted / np.where(plain > 0, plain, 1.0)
    assert ratio[4] > ratio[1] > ratio[2] > ratio[0]  # more anomalous, more likely
    assert ratio[3] == pytest.approx(ratio[0])  # a negative score counts as none
