"""Ground truth by effect: run every fault the design basis covers on the simulator and record what broke.

Every single fault within the design basis (``envs.design_basis``) on every target, and every pair the
design basis counts as one failure (two nodes of one zone: a zone outage), is run as the env runs it:
steady state, inject, watch, revert, recovery, verdict. Each action runs in several cluster states (a
few independent simulations, each taking the actions in its own order, so jobs sit at other points of
their checkpoint interval and leaders on other pods); actions that can depend on the state (on a job, a
leader-elected or rolling workload, or a node holding one) run in more. What broke is an ``Effect`` (a
symptom with its footprint); ``envs.scenarios.key`` groups them into the weaknesses of the answer key
with the root-cause analysis (``envs.weaknesses``). Planting code is never read.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from envs.cluster import Injection, Violation
from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds
from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault
from envs.footprint import Touch
from envs.sim import SimulatedCluster
from envs.sim.timings import Timings
from envs.spec import ClusterSpec
from envs.symptoms import symptoms_of
from envs.verdict import Breach
from envs.weaknesses.sweep import design_basis_faults

Action = tuple[Fault, ...]
"""One fault, or a held fault then the one added to it (a zone outage: two nodes of one zone)."""


@dataclass(frozen=True)
class Effect:
    """One broken steady-state bound under one action, in one sampled state: a symptom, with its evidence."""

    action: Action
    state: int
    violation: Violation
    subjects: tuple[str, ...]
    """The workloads whose steady state broke (the verdict's subjects), sorted."""
    breach_s: float
    severity: float
    worst: Breach
    footprint: tuple[Touch, ...]
    """What the action's faults reached just before the injection (``envs.footprint``)."""


@dataclass(frozen=True)
class Sweep:
    spec: ClusterSpec
    tries: dict[Action, int]
    """How many states each action was run in (a skipped experiment does not count)."""
    effects: tuple[Effect, ...]


def design_basis_actions(spec: ClusterSpec, bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> list[Action]:
    """Every applicable single fault within the design basis, then every within-basis zone pair
    (``envs.weaknesses.sweep.design_basis_faults``: the one enumeration of the design basis)."""
    return list(design_basis_faults(spec, bounds))


def state_dependent_targets(spec: ClusterSpec) -> frozenset[str]:
    """Targets whose faults may break or not depending on when they land: jobs (checkpoint phase),
    leader-elected and rolling workloads (which pod leads, a rollout under way), and every node their
    pods may use."""
    workloads = {w.key for w in spec.workloads
                 if w.training is not None or w.leader_failover_s > 0 or w.rollout_every_s > 0}
    sim = SimulatedCluster(spec, seed=0)
    nodes = {f"Node/{n}" for key, ws in sim.snapshot().workloads.items() if key in workloads
             for n, _ in ws.pods_by_node}
    gpu = {n.key for n in spec.nodes if n.gpus} if any(spec.workload(w).template.gpus for w in workloads) else set()
    return frozenset(workloads | nodes | gpu)


def sweep(spec: ClusterSpec, *, seed: int, timings: Timings = Timings(), timing: Timing = Timing(),
          bounds: DesignBasisBounds = DEFAULT_BOUNDS, repeats: int = 2, state_repeats: int = 4,
          warmup_s: tuple[float, float] = (300.0, 3600.0)) -> Sweep:
    """Run every design-basis action ``repeats`` times (``state_repeats`` where the state may matter)."""
    actions = design_basis_actions(spec, bounds)
    stateful = state_dependent_targets(spec)
    wanted = {a: state_repeats if any(f.target in stateful for f in a) else repeats for a in actions}
    tries: dict[Action, int] = dict.fromkeys(actions, 0)
    effects: list[Effect] = []
    for state in range(max(wanted.values(), default=0)):
        rng = random.Random(f"chaos-agent/sweep/{seed}/{state}")
        todo = [a for a in actions if wanted[a] > state]
        rng.shuffle(todo)
        sim = SimulatedCluster(spec, seed=seed * 1000 + state, timings=timings)
        sim.wait(rng.uniform(*warmup_s))
        for n, action in enumerate(todo):
            found = _run(sim, spec, action, timing, f"sweep-{state}-{n}")
            if found is None:
                continue
            tries[action] += 1
            effects += [dataclasses.replace(e, state=state) for e in found]
    return Sweep(spec=spec, tries=tries, effects=tuple(effects))


def _fault(fault: Fault, timing: Timing, *, held: bool) -> Fault:
    duration = timing.duration_of(fault.kind, fault.magnitude)
    if held:  # as the env holds one: it outlives the next experiment, reverted explicitly anyway
        duration += timing.recovery_s + 2 * max(timing.fault_duration_s, 600.0)
    return dataclasses.replace(fault, duration_s=duration)


def _run(sim: SimulatedCluster, spec: ClusterSpec, action: Action, timing: Timing, run_id: str) -> list[Effect] | None:
    """The action as the env runs it; None when the steady state never held (the try does not count)."""
    held: tuple[Injection, ...] = ()
    for i, fault in enumerate(action[:-1]):
        before = wait_for_steady_state(spec, sim, sim, timing)
        if before is None:
            return None
        first = run_experiment(spec=spec, backend=sim, steady=sim, fault=_fault(fault, timing, held=True),
                               injection_id=f"{run_id}-h{i}", timing=timing, hold=True, before=before,
                               converged=sim.converged)
        if not first.held:
            return None
        held = (first.injection,)
    before = wait_for_steady_state(spec, sim, sim, timing)
    if before is None:
        for h in held:
            sim.revert(h)
        return None
    result = run_experiment(spec=spec, backend=sim, steady=sim, fault=_fault(action[-1], timing, held=False),
                            injection_id=run_id, timing=timing, held=held, before=before, converged=sim.converged)
    if result.injection.outcome != "applied":
        return None
    return [Effect(action, 0, s.violation, s.affected, max(b.breach_s for b in s.breaches), s.severity, s.worst,
                   result.footprint) for s in symptoms_of(result)]

