"""The per-cluster posterior over the policy: fruitless actions lose probability, no target and kind is
tried more than 3 times without new evidence, known weaknesses are re-verified only when asked."""

from __future__ import annotations

import numpy as np
import pytest

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS, Action
from envs.chaos_env import ChaosClusterEnv
from envs.faults import FaultKind
from envs.memory import ClusterMemory
from envs.observation import N_GLOBAL_FEATURES, N_TARGET_FEATURES
from envs.scenarios import builtin
from envs.simulated_clusters import scenario_world
from policies.adaptive import AdaptivePolicy, NothingLeftToTry, PosteriorSettings
from policies.base import Decision, Outcome
from policies.baselines import UniformRandom
from policies.benchmark import play

TARGETS = ("ns/Deployment/a", "ns/Deployment/b")
KILL = FaultKind.POD_KILL


def decision(only: FaultKind | None = None) -> Decision:
    mask = np.zeros((len(TARGETS), N_KINDS, N_INTENSITIES, N_HOLD), dtype=bool)
    if only is None:
        mask[..., 0] = True
    else:
        mask[:, KIND_INDEX[only], :, 0] = True
    return Decision(TARGETS, np.zeros((len(TARGETS), N_TARGET_FEATURES), np.float32),
                    np.zeros(N_GLOBAL_FEATURES, np.float32), mask)


def act(target: int, kind: FaultKind = KILL, intensity: int = 0, hold: bool = False) -> int:
    return Action(target, kind, intensity, hold).encode()


def outcome(action: int, *, new: int = 0, refound: int = 0, injected: bool = True) -> Outcome:
    return Outcome(action, new, refound, 0.0, injected)


def cell(p: np.ndarray, target: int, intensity: int = 0, kind: FaultKind = KILL) -> float:
    return float(p.reshape(len(TARGETS), N_KINDS, N_INTENSITIES, N_HOLD)[target, KIND_INDEX[kind], intensity, 0])


def test_an_action_that_keeps_showing_nothing_loses_probability() -> None:
    policy = AdaptivePolicy(UniformRandom())
    policy.reset(np.random.default_rng(0))
    d = decision()
    before = policy.probabilities(d)
    assert cell(before, 0) == pytest.approx(cell(before, 1))
    policy.observe(d, outcome(act(0)))
    policy.observe(d, outcome(act(0)))
    after = np.mean([policy.probabilities(d) for _ in range(200)], axis=0)
    assert cell(after, 0) < 0.5 * cell(after, 1)
    assert cell(after, 0, intensity=1) < cell(after, 1, intensity=1), "the whole target and kind loses too"
    assert after.sum() == pytest.approx(1.0)


def test_no_target_and_kind_more_than_three_times_without_new_evidence() -> None:
    policy = AdaptivePolicy(UniformRandom())
    policy.reset(np.random.default_rng(0))
    d = decision()
    for intensity, what in ((0, "nothing"), (1, "refused"), (2, "known")):
        policy.observe(d, outcome(act(0, intensity=intensity), refound=int(what == "known"),
                                  injected=what != "refused"))
    p = policy.probabilities(d)
    assert all(cell(p, 0, i) == 0 for i in range(3)), "three tries without new evidence: not a fourth"
    assert cell(p, 0, kind=FaultKind.CPU_STRESS) > 0, "other fault kinds on the target stay open"
    only_kill = decision(FaultKind.POD_KILL)
    for i in range(3):
        policy.observe(only_kill, outcome(act(1, intensity=i)))
    with pytest.raises(NothingLeftToTry, match="3 times"):
        policy.probabilities(only_kill)


def test_a_new_weakness_resets_the_streak_and_the_held_fault_shares_it() -> None:
    policy = AdaptivePolicy(UniformRandom())
    policy.reset(np.random.default_rng(0))
    d = decision()
    for _ in range(2):
        policy.observe(d, outcome(act(0)))
    policy.observe(d, outcome(act(0, intensity=1, hold=True)))  # the first of a pair: nothing alone
    assert policy.memory.streak(TARGETS[0], KILL) == 3
    policy.observe(d, outcome(act(1, kind=FaultKind.NETWORK_LOSS), new=1))
    assert policy.memory.streak(TARGETS[0], KILL) == 0, "the held fault took part in the new finding"
    assert policy.memory.streak(TARGETS[1], FaultKind.NETWORK_LOSS) == 0


def test_a_known_weakness_is_re_verified_only_on_request() -> None:
    memory = ClusterMemory("c")
    memory.record(TARGETS[0], KILL, 0, "new")
    d = decision()
    normal = AdaptivePolicy(UniformRandom(), memory)
    normal.reset(np.random.default_rng(0))
    retest = AdaptivePolicy(UniformRandom(), memory, retest=True)
    retest.reset(np.random.default_rng(0))
    p, q = normal.probabilities(d), retest.probabilities(d)
    assert cell(p, 0) < 0.05 * cell(p, 1)
    assert cell(q, 0) > 0.2 * cell(q, 1)


def test_an_attached_memory_outlives_the_game_day_and_an_own_one_does_not() -> None:
    memory = ClusterMemory("c")
    attached = AdaptivePolicy(UniformRandom(), memory)
    own = AdaptivePolicy(UniformRandom())
    for policy in (attached, own):
        policy.reset(np.random.default_rng(0))
        policy.observe(decision(), outcome(act(0)))
        policy.reset(np.random.default_rng(1))
    assert memory.cells and attached.memory is memory
    assert not own.memory.cells


def test_settings_change_the_cap() -> None:
    policy = AdaptivePolicy(UniformRandom(), settings=PosteriorSettings(max_fruitless=1))
    policy.reset(np.random.default_rng(0))
    policy.observe(decision(), outcome(act(0)))
    assert cell(policy.probabilities(decision()), 0, 2) == 0


class Fixated(UniformRandom):
    """A collapsed policy: nearly all of its mass on the first allowed pod kill of a robust workload."""

    name = "fixated"

    def probabilities(self, decision: Decision) -> np.ndarray:
        p = super().probabilities(decision) * 1e-3
        t = decision.targets.index("recs/Deployment/user-profile")
        p.reshape(decision.mask.shape)[t, KIND_INDEX[KILL], 0, 0] = 1.0
        return p / p.sum()


def test_a_game_day_never_repeats_a_target_and_kind_beyond_three_fruitless_tries() -> None:
    """A prior that collapsed onto one fruitless action repeats it all game day; with the posterior the
    longest fruitless streak of any target and kind is 3, and the rest of the budget goes elsewhere."""
    scenario = builtin("ml-platform", 7)

    def game_day(strategy: object) -> object:
        env = ChaosClusterEnv(lambda _rng: scenario_world(scenario, seed=3), budget=30, max_targets=64)
        return play(env, strategy, scenario, seed=3, budget=30)  # type: ignore[arg-type]

    assert game_day(Fixated()).max_fruitless > 20  # type: ignore[attr-defined]
    adaptive = game_day(AdaptivePolicy(Fixated()))
    assert adaptive.max_fruitless <= 3 and len(adaptive.discovered) == 30  # type: ignore[attr-defined]


def test_the_sparse_reweighting_is_the_dense_formula() -> None:
    """The daemon's path touches only tried actions; it must give exactly prior x factors, renormalised."""
    memory = ClusterMemory("c")
    for target, kind, intensity, what in ((0, KILL, 0, "nothing"), (0, KILL, 2, "known"), (1, FaultKind.CPU_STRESS, 1,
                                                                                             "new")):
        memory.record(TARGETS[target], kind, intensity, what)  # type: ignore[arg-type]
    policy = AdaptivePolicy(UniformRandom(), memory)
    d = decision()
    policy.reset(np.random.default_rng(5))
    sparse = policy.probabilities(d)
    policy.reset(np.random.default_rng(5))
    dense = UniformRandom().probabilities(d).reshape(d.mask.shape) * policy.factors(d)[..., None]
    np.testing.assert_allclose(sparse, (dense / dense.sum()).reshape(-1), rtol=1e-12)
