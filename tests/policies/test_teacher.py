"""The privileged teacher labels what would surface a pending weakness, in the state that surfaces it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from envs.actions import Action, decode
from envs.chaos_env import ChaosClusterEnv
from envs.cluster import ClusterState, WorkloadStatus
from envs.faults import Fault
from envs.scenarios import PlantedWeakness, Scenario, Trigger, builtin, with_key
from envs.simulated_clusters import scenario_world
from policies.rl.teacher import collect, imitation_target, in_season, routes, trigger_weight
from tests.envs.scenarios.test_answer_key import single_replica_behind_front


def _scenario_with(kind_violation: tuple[str, str]) -> tuple[Scenario, PlantedWeakness]:
    for name in ("ml-platform", "storefront"):
        sc = builtin(name, 7)
        for w in sc.weaknesses:
            if (w.kind, w.violation) == kind_violation:
                return sc, w
    raise AssertionError(f"no built-in scenario plants {kind_violation}")


def _env(sc: Scenario) -> ChaosClusterEnv:
    env = ChaosClusterEnv(lambda rng: scenario_world(sc, seed=sc.seed), budget=20, max_targets=64)
    env.reset(seed=0)
    return env


def _act(env: ChaosClusterEnv, flat: int) -> tuple[Action, str]:
    a = decode(flat)
    return a, env.targets[a.target]


def test_a_two_fault_weakness_is_held_first_then_completed() -> None:
    sc, pair = _scenario_with(("two_fault", "latency"))
    env = _env(sc)
    first, second = pair.triggers[0].requires
    mine = [r for r in routes(env, sc, set(), None)
            if any(_act(env, int(i))[1] == first.target for i in np.flatnonzero(r.actions))]
    assert mine, "the pair's first fault is not among the teacher's actions"
    for i in np.flatnonzero(mine[0].actions):
        a, target = _act(env, int(i))
        assert a.hold, f"{a} on {target}: a pair's member must be held while nothing is"

    held = Fault(next(iter(first.kinds)), first.min_intensity, first.target)
    pending = routes(env, sc, set(), held)
    assert len(pending) > 1, "other weaknesses are pending too: the share matters"
    label = imitation_target(pending).astype(np.float64)
    completing = np.zeros_like(label, dtype=bool)
    for i in np.flatnonzero(label):
        a, target = _act(env, int(i))
        completing[i] = target == second.target and a.kind in second.kinds and not a.hold
    assert label.sum() == pytest.approx(1.0, abs=1e-2)
    assert label[completing].sum() >= 0.8, "a held fault is wasted unless its pair is completed"
    assert not (label[~completing] > label[completing].max()).any()


def test_a_generated_key_weighs_its_surest_gentlest_actions_most() -> None:
    """From a swept key: each action that showed the weakness is labelled at its own intensity only,
    weighted by how surely it showed it and how little SLO budget it burned."""
    sc = with_key(Scenario("spof", 3, single_replica_behind_front(), (), (), False))
    env = _env(sc)
    spof = next(w for w in sc.weaknesses if w.kind == "single_replica_on_path")
    sure = dataclasses.replace(spof, rates=(1.0, 0.5, 1.0), blast_s=(30.0, 30.0, 600.0))
    assert trigger_weight(sure, 0) > trigger_weight(sure, 1) and trigger_weight(sure, 0) > trigger_weight(sure, 2)
    only = dataclasses.replace(sc, weaknesses=(spof,))
    [route] = routes(env, only, set(), None)
    acts = [_act(env, int(i)) for i in np.flatnonzero(route.actions)]
    labelled = {(a.kind, a.intensity, target) for a, target in acts}

    def cell(t: Trigger) -> tuple[object, int, str]:
        (r,) = t.requires
        return next(iter(r.kinds)), r.min_intensity, r.target

    swept = {cell(t) for t in spof.triggers}
    assert labelled == swept, "exactly the actions (and intensities) the sweep saw show it"
    weight = {cell(t): trigger_weight(spof, i) for i, t in enumerate(spof.triggers)}
    for i in np.flatnonzero(route.actions):
        a, target = _act(env, int(i))
        assert route.actions[i] == pytest.approx(weight[(a.kind, a.intensity, target)])


def _state(sc: Scenario, job: str, since_checkpoint_s: float | None) -> ClusterState:
    return ClusterState(spec=sc.spec, workloads={job: WorkloadStatus(
        key=job, desired=1, ready=1, pending=0, seconds_since_checkpoint=since_checkpoint_s)}, nodes={}, time_s=0.0)


def test_a_state_dependent_weakness_is_labelled_only_in_the_state_that_breaks_it() -> None:
    sc, gap = _scenario_with(("state_dependent", "training_progress"))
    job = next(w for w in sc.spec.workloads if w.key == gap.affected)
    assert job.training is not None and job.training.checkpoint_interval_s is not None
    bound = sc.spec.model_slo.max_training_progress_lost_s
    interval = job.training.checkpoint_interval_s
    assert not in_season(gap, _state(sc, gap.affected, 60.0)), "fresh checkpoint: a kill loses little"
    assert in_season(gap, _state(sc, gap.affected, bound + 120.0)), "past the bound: a kill loses too much"
    assert not in_season(gap, _state(sc, gap.affected, interval - 1.0)), "a checkpoint lands before the fault"
    assert in_season(gap, _state(sc, gap.affected, None)), "never checkpointed yet: left to chance"
    other = next(w for w in sc.weaknesses if w.kind != "state_dependent")
    assert in_season(other, _state(sc, gap.affected, 60.0))


def test_collected_labels_are_distributions_over_allowed_actions() -> None:
    sc, _ = _scenario_with(("two_fault", "latency"))
    env = ChaosClusterEnv(lambda rng: scenario_world(sc, seed=int(rng.integers(100))), budget=10, max_targets=64)
    demos = collect(env, 40, seed=3, keep=1.0)
    assert len(demos) == 40
    target = demos.target.astype(np.float64)
    np.testing.assert_allclose(target.sum(axis=1), 1.0, atol=1e-2)
    assert not (target[~demos.masks] > 0).any(), "the teacher labelled a masked action"
    assert len(np.unique(demos.obs.round(4), axis=0)) > 20, "the states are not from real game days"


def test_the_student_drives_the_game_days_when_given() -> None:
    sc, _ = _scenario_with(("two_fault", "latency"))
    env = ChaosClusterEnv(lambda rng: scenario_world(sc, seed=1), budget=6, max_targets=64)
    chosen: list[int] = []

    def student(obs: np.ndarray, mask: np.ndarray, n_targets: int) -> np.ndarray:
        assert n_targets == len(env.targets)
        first = int(np.flatnonzero(mask)[0])
        chosen.append(first)
        p = np.zeros(mask.size)
        p[first] = 1.0
        return p

    played: list[int] = []
    step = env.step

    def recording_step(action: int) -> object:
        played.append(int(action))
        return step(action)

    env.step = recording_step  # type: ignore[method-assign,assignment]
    demos = collect(env, 6, seed=0, explore=0.0, keep=1.0, student=student)
    assert len(demos) == 6
    assert played and played == chosen, "every move of the game day is the student's"


def test_game_days_are_played_on_every_worker_and_the_student_runs_without_torch() -> None:
    from policies.rl.teacher import runtime_student
    from policies.runtime import RuntimePolicy
    from policies.training import TrainingRun, collect_parallel

    sc, _ = _scenario_with(("two_fault", "latency"))
    run = TrainingRun(timesteps=0, out_dir=Path("unused"), n_envs=2, budget=8, max_targets=64)
    worlds = lambda rng: scenario_world(sc, seed=int(rng.integers(100)))  # noqa: E731 -- not picklable, on purpose
    demos = collect_parallel(run, worlds, 31, seed=5)
    assert len(demos) == 31
    shipped = RuntimePolicy.load()
    demos = collect_parallel(run, worlds, 12, seed=6, student=shipped.arrays)
    assert len(demos) == 12

    env = _env(sc)
    obs, _ = env.reset(seed=0)
    mask = env.action_masks()
    p = runtime_student(shipped.arrays, env.max_targets)(obs, mask, len(env.targets))
    assert p.shape == mask.shape and p.sum() == pytest.approx(1.0) and not p[~mask].any()


def test_train_with_a_warm_start_clones_the_teacher_and_reports_progress(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from policies.rl.teacher import runtime_student
    from policies.runtime import RuntimePolicy
    from policies.training import TrainingRun, train

    sc, _ = _scenario_with(("two_fault", "latency"))
    run = TrainingRun(timesteps=0, out_dir=tmp_path, n_envs=2, budget=8, max_targets=64, warm_start_states=60,
                      dagger_rounds=1, warm_start_epochs=30, batch_size=32, checkpoint_every=10_000)
    out = train(run, worlds=lambda rng: scenario_world(sc, seed=int(rng.integers(100))))
    err = capsys.readouterr().err
    assert "teacher: 60 states" in err and "DAgger round 1/1: 30 states" in err

    policy = RuntimePolicy.load(out)
    assert policy.metadata["training"]["dagger_rounds"] == 1
    env = ChaosClusterEnv(lambda rng: scenario_world(sc, seed=3), budget=8, max_targets=64)
    demos = collect(env, 20, seed=99, keep=1.0)
    student = runtime_student(policy.arrays, 64)
    env.reset(seed=0)
    n = len(env.targets)
    on_label = [float(student(o, m, n)[t > 0].sum()) for o, m, t in zip(demos.obs, demos.masks, demos.target,
                                                                         strict=True)]
    uniform = [float((t > 0).sum() / m.sum()) for m, t in zip(demos.masks, demos.target, strict=True)]
    assert np.mean(on_label) > 5 * np.mean(uniform), "the student did not learn where the teacher points"
