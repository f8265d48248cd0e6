"""Contextual bandits on observable target features: LinUCB and linear Thompson sampling.

One linear model per (fault kind, intensity) arm over the target's features (disjoint LinUCB, Li et
al. 2010), updated with Sherman-Morrison. The reward is 1 when an injection found a new weakness. The
statistics persist across game days (``reset`` keeps them), so a bandit can be warmed up on training
clusters like the RL policy. Bandits pick single faults: they never hold one for a second.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from envs.actions import N_HOLD, N_INTENSITIES, N_KINDS
from envs.observation import N_TARGET_FEATURES
from policies.base import Decision, Outcome

N_ARMS = N_KINDS * N_INTENSITIES


class _LinearArms:
    def __init__(self, ridge: float = 1.0) -> None:
        d = N_TARGET_FEATURES + 1
        self.a_inv = np.repeat(np.eye(d)[None] / ridge, N_ARMS, axis=0)
        self.b = np.zeros((N_ARMS, d))
        self.rng = np.random.default_rng(0)

    @staticmethod
    def _x(features: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.concatenate([features.astype(np.float64), np.ones((len(features), 1))], axis=1)

    def theta(self) -> NDArray[np.float64]:
        return np.einsum("aij,aj->ai", self.a_inv, self.b)

    def update(self, arm: int, x: NDArray[np.float64], reward: float) -> None:
        a_inv = self.a_inv[arm]
        ax = a_inv @ x
        self.a_inv[arm] = a_inv - np.outer(ax, ax) / (1.0 + x @ ax)
        self.b[arm] += reward * x

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        """Every pull counts: an injection refused or skipped (a PDB said no, the steady state never held)
        spent a slot and found nothing, and a deterministic arm choice would otherwise repeat it forever."""
        t, rest = divmod(outcome.action, N_ARMS * N_HOLD)
        arm = rest // N_HOLD
        x = self._x(decision.features[t:t + 1])[0]
        self.update(arm, x, 1.0 if outcome.new_findings > 0 else 0.0)

    def _pick(self, decision: Decision, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """One-hot on the best allowed single-fault action; ties broken at random."""
        allowed = decision.mask[..., 0].reshape(len(decision.targets), N_ARMS)
        if not allowed.any():
            raise ValueError("no single-fault action is allowed")
        s = np.where(allowed, scores + 1e-9 * self.rng.random(scores.shape), -np.inf)
        t, arm = np.unravel_index(int(np.argmax(s)), s.shape)
        p = np.zeros((len(decision.targets), N_ARMS, N_HOLD))
        p[t, arm, 0] = 1.0
        return p.reshape(-1)


class LinUCB(_LinearArms):
    name = "linucb"

    def __init__(self, alpha: float = 0.5) -> None:
        super().__init__()
        self.alpha = alpha

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        x = self._x(decision.features)
        mean = x @ self.theta().T
        var = np.einsum("ti,aij,tj->ta", x, self.a_inv, x)
        return self._pick(decision, mean + self.alpha * np.sqrt(np.maximum(var, 0.0)))


class LinearThompson(_LinearArms):
    name = "thompson"

    def __init__(self, scale: float = 0.5) -> None:
        super().__init__()
        self.scale = scale

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        x = self._x(decision.features)
        theta = self.theta()
        d = theta.shape[1]
        z = self.rng.standard_normal((N_ARMS, d))
        chol = np.linalg.cholesky(self.a_inv + 1e-9 * np.eye(d))
        sampled = theta + self.scale * np.einsum("aij,aj->ai", chol, z)
        return self._pick(decision, x @ sampled.T)
