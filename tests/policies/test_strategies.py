"""Every strategy behind the one interface: masks are law (a protected target is never chosen, across
many seeds), and each baseline does what docs/benchmark-protocol.md says it does."""

from __future__ import annotations

import numpy as np
import pytest

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS, decode
from envs.chaos_env import ChaosClusterEnv
from envs.faults import FaultKind
from envs.scenarios import TRAINING, generate_cluster
from envs.simulated_clusters import scenario_world
from policies.base import Decision, Outcome, outcome_of
from policies.combine import choice_distribution, combine, sample
from policies.genetic import POPULATION, GeneticSearch
from policies.registry import BENCHMARK_STRATEGIES, make_strategy
from tests.envs.test_chaos_env import DenyTarget


def env_for(seed: int, guard: object = None) -> ChaosClusterEnv:
    scenario = generate_cluster(seed, TRAINING)
    return ChaosClusterEnv(lambda rng: scenario_world(scenario, seed=seed), budget=12, max_targets=64,
                           guard=guard)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [*BENCHMARK_STRATEGIES, "anomaly_weighted"])
def test_a_protected_target_is_never_chosen(name: str) -> None:
    for seed in range(3):
        probe = env_for(seed)
        probe.reset(seed=seed)
        protected = next(t for t in probe.targets if "/Deployment/" in t)
        env = env_for(seed, DenyTarget(protected))
        obs, _ = env.reset(seed=seed)
        strategy = make_strategy(name)
        rng = np.random.default_rng(seed)
        strategy.reset(rng)
        done = False
        while not done:
            decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
            p = choice_distribution(strategy, decision, temperature=1.0, anomaly_weight=1.0)
            assert p[decision.flat_mask].sum() == pytest.approx(1.0) and p[~decision.flat_mask].sum() == 0
            action = sample(p, rng)
            assert env.targets[decode(action).target] != protected
            obs, reward, done, _, info = env.step(action)
            strategy.observe(decision, outcome_of(action, info["result"], new_findings=len(info["findings"]),
                                                  refound=0, reward=reward))


def test_kube_monkey_only_kills_pods_and_round_robin_walks_the_suite() -> None:
    env = env_for(0)
    obs, _ = env.reset(seed=0)
    decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
    p = make_strategy("pod_kill").probabilities(decision).reshape(-1, N_KINDS, N_INTENSITIES, N_HOLD)
    assert p[:, KIND_INDEX[FaultKind.POD_KILL]].sum() == pytest.approx(1.0)
    rr = make_strategy("round_robin")
    rr.reset(np.random.default_rng(0))
    seen = []
    for _ in range(5):
        a = int(np.argmax(rr.probabilities(decision)))
        rr.observe(decision, outcome_of(a, None, new_findings=0, refound=0, reward=0.0))
        seen.append(a)
    actions = [decode(a) for a in seen]
    assert {a.kind for a in actions} == {FaultKind.POD_KILL} and {a.intensity for a in actions} == {0}
    assert [a.target for a in actions] == sorted({a.target for a in actions}), "the suite walks targets in order"


def test_genetic_search_evaluates_a_population_then_breeds() -> None:
    env = env_for(1)
    obs, _ = env.reset(seed=1)
    decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
    ga = GeneticSearch()
    ga.reset(np.random.default_rng(0))
    first = []
    for i in range(POPULATION):
        a = int(np.argmax(ga.probabilities(decision)))
        first.append(a)
        ga.observe(decision, outcome_of(a, None, new_findings=0, refound=0, reward=float(i)))
    assert len(ga._scored) == POPULATION
    ga.probabilities(decision)  # a new generation is bred from the scored one
    assert ga._scored == [] and len(ga._queue) == POPULATION


def test_combine_sharpens_with_temperature_and_follows_anomalies() -> None:
    p = np.array([0.5, 0.3, 0.2] + [0.0] * 87)
    mask = np.ones(90, dtype=bool)
    cold = combine(p, np.zeros(1, dtype=np.float32), mask, temperature=0.5, anomaly_weight=0.0)
    assert cold[0] > 0.5 and cold[3:].sum() == 0
    two = np.zeros(180)
    two[0], two[90] = 0.5, 0.5
    weighted = combine(two, np.array([0.0, 9.0], dtype=np.float32), np.ones(180, dtype=bool), temperature=1.0,
                       anomaly_weight=1.0)
    assert weighted[90] == pytest.approx(10 / 11)


@pytest.mark.parametrize("name", ["linucb", "thompson"])
def test_a_bandit_moves_on_from_an_action_that_is_never_injected(name: str) -> None:
    """A refused injection (a PDB said no) found nothing: the arm must lose its appeal, not be retried forever."""
    env = env_for(0)
    obs, _ = env.reset(seed=0)
    strategy = make_strategy(name)
    strategy.reset(np.random.default_rng(0))
    decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
    favourite = int(np.flatnonzero(decision.flat_mask)[0])
    for _ in range(5):  # it found something there before: the arm looks good
        strategy.observe(decision, Outcome(favourite, new_findings=1, refound=0, reward=1.0, injected=True))
    chosen = []
    for _ in range(30):
        action = sample(strategy.probabilities(decision), np.random.default_rng(0))
        chosen.append(action)
        strategy.observe(decision, outcome_of(action, None, new_findings=0, refound=0, reward=0.0))
    assert len(set(chosen)) > 5, f"{name} kept choosing {sorted(set(chosen))}"


def test_sample_never_draws_a_zero_entry_even_at_the_edges() -> None:
    p = np.array([0.0, 0.25, 0.0, 0.75, 0.0])
    rng = np.random.default_rng(0)
    drawn = {sample(p, rng) for _ in range(2000)}
    assert drawn == {1, 3}

    class Edge:
        def __init__(self, value: float) -> None:
            self.value = value

        def random(self) -> float:
            return self.value

    assert sample(p, Edge(0.0)) == 1  # type: ignore[arg-type]
    assert sample(p, Edge(np.nextafter(1.0, 0.0))) == 3  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        sample(np.zeros(4), rng)
