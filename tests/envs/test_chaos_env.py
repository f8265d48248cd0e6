"""ChaosClusterEnv: both env checkers, masks from the guard, held faults, reward terms in info."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import pytest
from numpy.typing import NDArray

import envs  # noqa: F401  (registers ChaosCluster-v0)
from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS, Action
from envs.chaos_env import ChaosClusterEnv
from envs.cluster import ClusterState, Injection
from envs.faults import FaultKind
from envs.observation import N_TARGET_FEATURES, TARGET_FEATURES, unpack
from envs.simulated_clusters import simulated_world
from envs.spec import Call, ClusterSpec
from tests.envs.sim.sim_specs import NS, deployment, nodes, service

BACK = f"{NS}/Deployment/back"
FRONT = f"{NS}/Deployment/front"


def two_tier(back_replicas: int = 1) -> ClusterSpec:
    front = deployment("front", 3, calls=(Call(f"{NS}/Service/back", timeout_ms=500, retries=0),))
    back = deployment("back", back_replicas)
    return ClusterSpec("two-tier", nodes(3), (front, back),
                       (service("front", entry=True, load=50.0), service("back")))


def make_env(spec: ClusterSpec | None = None, **kw: object) -> ChaosClusterEnv:
    s = spec or two_tier()
    return ChaosClusterEnv(lambda rng: simulated_world(s, seed=int(rng.integers(1000))), max_targets=8,
                           **kw)  # type: ignore[arg-type]


def test_gymnasium_env_checker_passes() -> None:
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(make_env(budget=5), skip_render_check=True)


def test_stable_baselines3_env_checker_passes() -> None:
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(make_env(budget=5), warn=False)


def test_registered_with_gymnasium() -> None:
    spec = gym.spec("ChaosCluster-v0")
    assert spec.max_episode_steps is not None and spec.entry_point == "envs.chaos_env:ChaosClusterEnv"


def test_action_mask_is_the_same_in_info_and_action_masks() -> None:
    env = make_env()
    _, info = env.reset(seed=0)
    assert info["action_mask"].dtype == np.int8
    np.testing.assert_array_equal(info["action_mask"].astype(bool), env.action_masks())
    _, _, _, _, info = env.step(int(np.flatnonzero(env.action_masks())[0]))
    np.testing.assert_array_equal(info["action_mask"].astype(bool), env.action_masks())


def test_mask_follows_what_can_apply() -> None:
    env = make_env()
    env.reset(seed=0)
    m = env.action_masks().reshape(8, N_KINDS, N_INTENSITIES, N_HOLD)
    node0 = env.targets.index("Node/node-0")
    assert m[node0, KIND_INDEX[FaultKind.NODE_FAILURE]].all()
    assert not m[node0, KIND_INDEX[FaultKind.POD_KILL]].any()
    assert not m[:, KIND_INDEX[FaultKind.GPU_DEVICE_FAILURE]].any()  # no GPU anywhere
    assert not m[:, KIND_INDEX[FaultKind.DATA_DRIFT]].any()  # no pipeline
    assert not m[len(env.targets):].any()  # padding


class DenyTarget:
    """A guard that protects one target, as the safety layer protects a namespace."""

    def __init__(self, protected: str) -> None:
        self.protected = protected

    def mask(self, state: ClusterState, targets: Sequence[str], active: Sequence[Injection]) -> NDArray[np.bool_]:
        m = np.ones((len(targets), N_KINDS, N_INTENSITIES), dtype=bool)
        m[list(targets).index(self.protected)] = False
        return m


def test_a_protected_target_is_never_chosen_by_masked_sampling() -> None:
    env = make_env(budget=40, guard=DenyTarget(BACK))
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    back = env.targets.index(BACK)
    for _ in range(40):
        m = env.action_masks()
        assert not m.reshape(8, -1)[back].any()
        _, _, done, _, info = env.step(int(rng.choice(np.flatnonzero(m))))
        assert env.targets[info["action"].target] != BACK
        if done:
            break


def test_masked_action_injects_nothing_and_costs_a_step() -> None:
    env = make_env(budget=3, guard=DenyTarget(BACK))
    env.reset(seed=0)
    forbidden = Action(env.targets.index(BACK), FaultKind.POD_KILL, 2, False).encode()
    _, reward, _, _, info = env.step(forbidden)
    assert info["injected"] is False and "mask" in info["skipped"]
    assert info["reward_terms"]["wasted"] > 0 and reward < 0


def test_single_replica_dependency_is_a_finding_with_reward_terms() -> None:
    env = make_env()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(Action(env.targets.index(BACK), FaultKind.POD_KILL, 0, False).encode())
    [finding] = info["findings"]
    assert finding.violation == "availability" and finding.affected == (FRONT,)
    terms = info["reward_terms"]
    assert terms["severity"] > 0 and terms["novelty"] == 1.0 and terms["blast"] > 0
    assert reward == pytest.approx(terms["total"])
    # the same weakness again is penalised, not rewarded
    _, reward2, _, _, info2 = env.step(Action(env.targets.index(BACK), FaultKind.POD_KILL, 0, False).encode())
    assert info2["findings"] == [] and info2["reward_terms"]["refind"] > 0 and reward2 < 0


def test_a_held_fault_stays_active_through_the_next_experiment_then_is_reverted() -> None:
    env = make_env()
    env.reset(seed=0)
    back, front = env.targets.index(BACK), env.targets.index(FRONT)
    sim = env.world.backend
    _, _, _, _, info = env.step(Action(back, FaultKind.NETWORK_LATENCY, 0, True).encode())
    held = info["result"].injection
    assert info["result"].held and held.id in sim.active  # type: ignore[attr-defined]
    _, _, _, _, info = env.step(Action(front, FaultKind.CPU_STRESS, 0, False).encode())
    assert [i.id for i in info["result"].concurrent] == [held.id]
    assert all(f.faults[0].kind is FaultKind.NETWORK_LATENCY for f in info["all_findings"])
    assert not sim.active, "both faults reverted after the second experiment"  # type: ignore[attr-defined]


def test_held_fault_is_visible_in_the_observation_and_blocks_a_second_hold() -> None:
    env = make_env()
    env.reset(seed=0)
    back = env.targets.index(BACK)
    obs, _, _, _, _ = env.step(Action(back, FaultKind.NETWORK_LATENCY, 0, True).encode())
    feats, glob = unpack(obs, 8)
    assert feats.shape[1] == N_TARGET_FEATURES
    assert feats[back, TARGET_FEATURES.index("held_here")] == 1.0 and glob[2] == 1.0
    m = env.action_masks().reshape(8, N_KINDS, N_INTENSITIES, N_HOLD)
    assert not m[..., 1].any(), "no second hold while one is held"
    assert not m[back].any(), "never a second fault on the held target"


def test_episode_ends_when_the_budget_is_spent_and_reverts_everything() -> None:
    env = make_env(budget=4)
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    done, steps = False, 0
    while not done:
        _, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        steps += 1
    assert steps == 4
    assert env._held is None and not env.world.backend.active  # type: ignore[attr-defined]
