"""A retest: re-run the reproducing experiments of every known weakness on the cluster, and let the tickets follow.

Each weakness's reproducing experiments (its findings' faults at their mildest intensity) run again
until one reproduces the weakness (a breach diagnosed as the same weakness): on a real cluster through
the same guard and journal as a game day, up to ``[weaknesses] retest_attempts`` times each; on the
simulated cluster on fresh simulations of its current twin, one per seed of ``verify_seeds``, so a
weakness that shows only in some states (which pod leads, a checkpoint phase) is not taken for fixed
because the one simulation happened to be in another state. An open weakness that no
longer reproduces is resolved and its tickets closed; a resolved one that reproduces is reopened; one
that still reproduces gets a comment. Breaches a retest shows are findings like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from agent.config import Config
from agent.findings.model import findings_from_result
from agent.findings.store import FindingStore
from agent.loop import Supervision, timing_of
from agent.supervision import SupervisedBackend
from agent.weaknesses.flow import WeaknessUpdate, record_weaknesses, reproductions, resolve
from agent.weaknesses.model import WeaknessRecord
from agent.weaknesses.store import WeaknessStore
from envs.cluster import ClusterBackend, Injection
from envs.cluster_under_test import World
from envs.experiment import ExperimentResult, Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault
from envs.sim import SimulatedCluster
from envs.symptoms import symptoms_of
from envs.weaknesses import Case, diagnose, weakness_id
from envs.weaknesses.verify import run

HOLD_S = 3600.0


@dataclass(frozen=True)
class RetestOutcome:
    weakness: str
    title: str
    reproduced: bool
    experiments: int
    status: str
    """The weakness's status after the retest."""


@dataclass(frozen=True)
class RetestReport:
    outcomes: tuple[RetestOutcome, ...]
    injections: int
    update: WeaknessUpdate | None
    stopped: str = ""


def retest(*, world: World, config: Config, findings: FindingStore, weaknesses: WeaknessStore,
           supervision: Supervision, exporters: Iterable[str], max_injections: int | None = None,
           should_stop: Callable[[], bool] | None = None) -> RetestReport:
    """Re-run what reproduced each known weakness; resolve, reopen or comment. Every fault is reverted on return."""
    hands = SupervisedBackend(world.backend, supervision.journal, supervision.guard)
    timing = timing_of(config)
    names = tuple(exporters)
    stored = {f.id: f for f in findings.all()}
    records = [r for r in weaknesses.all()]
    run_id = uuid.uuid4().hex[:8]
    injections = 0
    seen: set[str] = set()
    shown: set[str] = set()
    tried: dict[str, int] = {}
    stopped = ""
    twin = isinstance(world.backend, SimulatedCluster)
    tries = config.weaknesses.verify_seeds if twin else config.weaknesses.retest_attempts
    try:
        for record in records:
            reps = reproductions(record.weakness, stored, config.weaknesses.verify_reproductions)
            tried[record.id] = 0
            for attempt in range(tries):
                for rep in reps:
                    stopped = _why_stop(supervision, should_stop, injections, max_injections)
                    if stopped or record.id in shown:
                        break
                    injections += 1
                    tried[record.id] += 1
                    if twin:  # a fresh simulation per try: each starts in another state (checkpoint phase, leader)
                        result = run(world.spec, rep.faults, seed=attempt + 1, timing=timing)
                    else:
                        result = _experiment(world, hands, rep.faults, f"retest-{run_id}-{injections}", timing)
                        if result is not None:
                            supervision.guard.budget.consume(result.budget_burned_s)
                    if result is None:
                        continue
                    for f in findings_from_result(result, injection_index=injections, seen_at=datetime.now(UTC)):
                        findings.upsert(f)
                        seen.add(f.id)
                        supervision.journal.record_finding(f.id, injection_id=result.injection.id, target=f.target,
                                                           status=f.violation, detail=f.hypothesis)
                    shown |= _weaknesses_shown(world, result, config)
                if stopped or record.id in shown:
                    break
            if stopped:
                break
    finally:
        hands.revert_all()
    now = datetime.now(UTC)
    update = record_weaknesses(spec=world.spec, findings=findings, weaknesses=weaknesses, config=config, seen=seen,
                               exporters=names, now=now, shown=shown, should_stop=should_stop)
    outcomes = []
    for record in records:
        if not tried.get(record.id) and record.id not in shown:  # nothing re-ran for it: no evidence either way
            continue
        current = weaknesses.get(record.id) or record
        if record.id not in shown and current.status == "open" and not stopped:
            current = resolve(current, weaknesses=weaknesses, exporters=names, now=now)
        outcomes.append(_outcome(current, record.id in shown, tried.get(record.id, 0)))
    return RetestReport(tuple(outcomes), injections, update, stopped)


def _outcome(record: WeaknessRecord, reproduced: bool, experiments: int) -> RetestOutcome:
    return RetestOutcome(record.id, record.weakness.title, reproduced, experiments, record.status)


def _why_stop(supervision: Supervision, should_stop: Callable[[], bool] | None, injections: int,
              max_injections: int | None) -> str:
    if should_stop is not None and should_stop():
        return "stopped on request"
    if supervision.guard.kill_switch.is_halted():
        return "halted by the kill switch"
    if supervision.guard.budget.exhausted:
        return f"error budget spent ({supervision.guard.budget.describe()})"
    if max_injections is not None and injections >= max_injections:
        return f"injection budget of {max_injections} spent"
    return ""


def _weaknesses_shown(world: World, result: ExperimentResult, config: Config) -> set[str]:
    out = set()
    for s in symptoms_of(result):
        d = diagnose(world.spec, Case("retest", s.violation, s.faults, s.affected, s.worst, result.footprint,
                                      s.severity), config.design_basis.bounds())
        if d.cause is not None:
            out.add(weakness_id(d.component))
    return out


def _experiment(world: World, backend: ClusterBackend, faults: tuple[Fault, ...], injection_id: str,
                timing: Timing) -> ExperimentResult | None:
    """One reproducing experiment: held faults first, then the last one watched and judged; all reverted."""
    before = wait_for_steady_state(world.spec, backend, world.steady, timing)
    if before is None:
        return None
    held: list[Injection] = []
    try:
        for i, fault in enumerate(faults[:-1]):
            inj = backend.inject(replace(fault, duration_s=HOLD_S), injection_id=f"{injection_id}-held-{i}")
            if inj.outcome != "applied":
                return None
            held.append(inj)
        main = replace(faults[-1], duration_s=timing.duration_of(faults[-1].kind, faults[-1].magnitude))
        result = run_experiment(spec=world.spec, backend=backend, steady=world.steady, fault=main,
                                injection_id=injection_id, timing=timing, held=tuple(held), before=before,
                                converged=world.converged)
        held = []
        return result if result.injection.outcome == "applied" else None
    finally:
        for inj in held:
            backend.revert(inj)
