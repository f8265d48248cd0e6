"""A privileged teacher for the warm start: it knows each training scenario's planted weaknesses.

On training clusters only, the teacher plays game days and labels every state it passes through with
the actions that would surface a weakness not yet found: a single-fault trigger; the first fault of a
two-fault trigger, held; and, once that is held, the second fault (nearly all the mass, since a held
fault that is not completed is wasted). A state-dependent weakness is labelled only while the cluster
is in the state that breaks it (a training job late in its checkpoint interval), so the student learns
to read that state off the observation and to come back when it holds. A flaky one stays labelled
after a miss, so the student learns it is worth another try.

States come from real episodes (DAgger style): first the teacher's own, with some random moves so
the student also sees states off the teacher's path, then the student's, relabelled by the teacher,
so the student learns to recover from its own mistakes. The student sees only the observation; held-out
clusters are never seen, and the deployed policy never sees a hidden id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS, PER_TARGET
from envs.chaos_env import ChaosClusterEnv
from envs.cluster import ClusterState
from envs.faults import Fault
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario
from envs.scenarios.scoring import meets, score_symptom
from policies.base import Decision
from policies.runtime import RuntimePolicy

COMPLETION_SHARE = 0.9
"""Of the teacher's mass while a fault is held, the share on completing the two-fault weakness it starts."""
STATE_MARGIN_S = 30.0
"""Seconds between the observation and the injection the teacher allows for (the pre-injection wait)."""

StudentPolicy = Callable[[NDArray[np.float32], NDArray[np.bool_], int], NDArray[np.float64]]
"""Observation, mask and the number of real (unpadded) targets -> the student's action probabilities."""


@dataclass
class Demonstrations:
    obs: NDArray[np.float32]
    masks: NDArray[np.bool_]
    target: NDArray[np.float16]
    """Per state, the distribution to imitate (see ``imitation_target``)."""

    def __len__(self) -> int:
        return len(self.obs)

    def __add__(self, other: Demonstrations) -> Demonstrations:
        return Demonstrations(np.concatenate([self.obs, other.obs]), np.concatenate([self.masks, other.masks]),
                              np.concatenate([self.target, other.target]))


@dataclass(frozen=True)
class Route:
    """The allowed actions towards one pending weakness, now, each with its weight."""

    actions: NDArray[np.float32]
    """Weights over the flat action space (zero where not on this route or not allowed)."""
    completes_held: bool
    """True when these actions add the second fault to a held first one."""


GENTLE_S = 300.0
"""SLO budget (seconds in breach) at which an action's weight on its route halves: the gentlest fault
that still reveals a weakness is worth more than a harsher one."""


def trigger_weight(w: PlantedWeakness, i: int) -> float:
    """How much of a route an action gets: its chance of showing the weakness, halved per ``GENTLE_S`` of
    SLO budget it burned (from a generated key; a planted key weighs its triggers alike)."""
    rate = w.rates[i] if i < len(w.rates) else 1.0
    blast = w.blast_s[i] if i < len(w.blast_s) else 0.0
    return rate / (1.0 + blast / GENTLE_S)


def _mark(env: ChaosClusterEnv, req: FaultRequirement, hold: bool, weight: float, out: NDArray[np.float32],
          *, exact: bool) -> None:
    """Weigh the requirement's actions; ``exact``: only its own intensity (a generated key lists each
    intensity that showed the weakness as a trigger of its own)."""
    if req.target not in env.targets:
        return
    t = env.targets.index(req.target)
    top = req.min_intensity + 1 if exact else None
    for k in req.kinds:
        cells = out[t, KIND_INDEX[k], req.min_intensity:top, int(hold)]
        np.maximum(cells, weight, out=cells)


def in_season(w: PlantedWeakness, state: ClusterState) -> bool:
    """Whether the cluster is in the state that surfaces ``w`` (always, unless it is state-dependent).

    A training job with rare checkpoints breaks only when a failure loses more progress than its bound:
    when the progress since the newest checkpoint already exceeds the bound and no checkpoint is due
    before the fault lands. Without that signal (a job that does not checkpoint) it is always labelled.
    """
    if w.kind != "state_dependent" or w.violation != "training_progress":
        return True
    job = state.workloads.get(w.affected)
    spec = state.spec.workload(w.affected)
    if job is None or spec.training is None or job.seconds_since_checkpoint is None:
        return True
    interval = spec.training.checkpoint_interval_s or float("inf")
    bound = state.spec.model_slo.max_training_progress_lost_s
    s = job.seconds_since_checkpoint
    return bound + STATE_MARGIN_S <= s <= interval - 10 * STATE_MARGIN_S


def routes(env: ChaosClusterEnv, scenario: Scenario, found: set[str], held: Fault | None) -> list[Route]:
    """One route per pending weakness reachable now."""
    allowed = env.action_masks()
    state = env.world.backend.snapshot()
    out: list[Route] = []
    for w in scenario.weaknesses:
        if w.class_id in found or not in_season(w, state):
            continue
        marks = np.zeros((env.max_targets, N_KINDS, N_INTENSITIES, N_HOLD), dtype=np.float32)
        completes = False
        exact = bool(w.rates)
        for i, trigger in enumerate(w.surfacing_triggers):
            reqs, weight = trigger.requires, trigger_weight(w, i)
            if len(reqs) == 1:
                _mark(env, reqs[0], False, weight, marks, exact=exact)
            elif held is None:
                for r in reqs:
                    _mark(env, r, True, weight, marks, exact=exact)
            elif any(meets(held, r) for r in reqs):
                rest = [r for r in reqs if not meets(held, r)] or list(reqs[1:])
                for r in rest:
                    _mark(env, r, False, weight, marks, exact=exact)
                completes = True
        row = marks.reshape(-1) * allowed
        if row.any():
            out.append(Route(row, completes))
    return out


def imitation_target(pending: list[Route]) -> NDArray[np.float16]:
    """Each pending weakness gets an equal share, spread evenly over its actions (a narrow weakness counts
    as much as a broad one); while a fault is held, completing its pair gets ``COMPLETION_SHARE``."""
    rows = np.asarray([r.actions for r in pending], dtype=np.float32)
    rows /= rows.sum(axis=1, keepdims=True)  # each pending weakness gets an equal share, spread by weight
    completing = np.asarray([r.completes_held for r in pending])
    weights = np.full(len(pending), 1.0 / len(pending))
    if completing.any() and not completing.all():
        weights[completing] = COMPLETION_SHARE / completing.sum()
        weights[~completing] = (1 - COMPLETION_SHARE) / (~completing).sum()
    return (weights @ rows).astype(np.float16)


def collect(env: ChaosClusterEnv, states: int, *, seed: int, explore: float = 0.2, keep: float = 0.35,
            student: StudentPolicy | None = None) -> Demonstrations:
    """Play game days on training clusters and label the states passed through.

    Moves follow the ``student`` when given (DAgger), else the teacher's own distribution; with
    probability ``explore`` a move is uniform over the allowed actions instead. Each state is kept with
    probability ``keep``, so the set spans many clusters rather than a few long game days.
    """
    rng = np.random.default_rng(seed)
    obs_list: list[NDArray[np.float32]] = []
    masks: list[NDArray[np.bool_]] = []
    targets: list[NDArray[np.float16]] = []
    episode = 0
    while len(obs_list) < states:
        obs, _ = env.reset(seed=seed + episode)
        episode += 1
        scenario = env.world.label
        if not isinstance(scenario, Scenario):
            raise TypeError("the teacher needs worlds labelled with their Scenario "
                            "(envs.simulated_clusters.scenario_world)")
        found: set[str] = set()
        held: Fault | None = None
        for _ in range(env.budget):
            mask = env.action_masks()
            if not mask.any():
                break
            pending = routes(env, scenario, found, held)
            label = imitation_target(pending) if pending else None
            if label is not None and rng.random() < keep:
                obs_list.append(obs)
                masks.append(mask)
                targets.append(label)
            action = _move(rng, mask, label, explore,
                           None if student is None else student(obs, mask, len(env.targets)))
            obs, _, terminated, truncated, info = env.step(action)
            result = info.get("result")
            for f in info.get("all_findings", []):
                _, cid = score_symptom(scenario, f, result.footprint if result is not None else ())
                if cid is not None:
                    found.add(cid)
            held = result.injection.fault if result is not None and result.held else None
            if terminated or truncated or len(obs_list) >= states:
                break
    return Demonstrations(np.asarray(obs_list, dtype=np.float32), np.asarray(masks, dtype=bool),
                          np.asarray(targets, dtype=np.float16))


def runtime_student(arrays: dict[str, NDArray[np.float32]], max_targets: int) -> StudentPolicy:
    """The student as the daemon runs it (numpy, no torch), from its exported arrays: cheap to run in
    worker processes, and the same function as the torch network (the export round-trip test)."""
    policy = RuntimePolicy(arrays=arrays, sha256="", metadata={})

    def probabilities(obs: NDArray[np.float32], mask: NDArray[np.bool_], n_targets: int) -> NDArray[np.float64]:
        decision = Decision.from_observation(obs, mask, [""] * n_targets, max_targets)
        p = np.zeros(mask.size, dtype=np.float64)
        p[: n_targets * PER_TARGET] = policy.probabilities(decision)
        return p

    return probabilities


def _move(rng: np.random.Generator, mask: NDArray[np.bool_], label: NDArray[np.float16] | None, explore: float,
          student: NDArray[np.float64] | None) -> int:
    p = student if student is not None else label
    if p is None or rng.random() < explore:
        return int(rng.choice(np.flatnonzero(mask)))
    q = np.asarray(p, dtype=np.float64) * mask
    return int(rng.choice(q.size, p=q / q.sum()))
