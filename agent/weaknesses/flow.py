"""After a game day or a retest: findings into weaknesses, each with its fix verified in the twin, ticket events queued.

``record_weaknesses`` reads every stored finding, groups them (``envs.weaknesses.assess``) with the
configured design basis, keeps each weakness's record (first seen, status, fix) in the store, and
queues one ticket event per exporter: ``opened`` for a new weakness, ``reproduced`` when this run's
findings show an open one again, ``reopened`` when they show a resolved one. The fix of a weakness is
worked out and verified when it is new or its evidence changed, and kept otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from agent.config import Config
from agent.findings.model import Finding
from agent.findings.store import FindingStore
from agent.loop import timing_of
from agent.weaknesses.model import Remedy, TicketEvent, WeaknessRecord
from agent.weaknesses.store import WeaknessStore
from envs.spec import ClusterSpec
from envs.weaknesses import Assessment, Weakness, assess
from envs.weaknesses.remedy import remediation_for
from envs.weaknesses.verify import INTERRUPTED, Reproduction, verify


@dataclass(frozen=True)
class WeaknessUpdate:
    assessment: Assessment
    records: tuple[WeaknessRecord, ...]
    """Every weakness of the store after the update, open first, worst first."""
    events: dict[str, TicketEvent] = field(default_factory=dict)
    """Weakness id -> the ticket event this update queued."""


def reproductions(weakness: Weakness, findings: dict[str, Finding], limit: int) -> list[Reproduction]:
    """The reproducing experiments of a weakness: each finding's faults at the mildest intensity that broke it."""
    chosen = sorted((findings[f] for f in weakness.findings if f in findings),
                    key=lambda f: (f.mildest.intensity, -f.reproductions, f.id))
    return [Reproduction(f.id, f.case().faults) for f in chosen[:limit]]


def remedy_for(spec: ClusterSpec, weakness: Weakness, findings: dict[str, Finding], config: Config,
               should_stop: Callable[[], bool] | None = None) -> Remedy | None:
    """The weakness's fix, tried in the twin: its reproducing experiments before and after, with the same seeds."""
    fix = remediation_for(spec, weakness, config.design_basis.bounds())
    if fix is None:
        return None
    ws = config.weaknesses
    check = verify(spec, weakness.id, fix, reproductions(weakness, findings, ws.verify_reproductions),
                   seeds=range(1, ws.verify_seeds + 1), timing=timing_of(config),
                   bounds=config.design_basis.bounds(), should_stop=should_stop)
    return Remedy(summary=fix.summary, patch=fix.yaml, verified=check.verified, detail=check.detail)


def record_weaknesses(*, spec: ClusterSpec, findings: FindingStore, weaknesses: WeaknessStore, config: Config,
                      seen: Collection[str], exporters: Iterable[str], now: datetime,
                      shown: Collection[str] | None = None,
                      should_stop: Callable[[], bool] | None = None) -> WeaknessUpdate:
    """Group the stored findings into weaknesses; ``seen`` are the ids of the findings this run reproduced.

    A weakness counts as shown again when one of its findings is in ``seen``, or, when ``shown`` is given
    (a retest, which diagnoses every breach itself), when its id is in ``shown``. ``should_stop`` interrupts
    the verification of fixes (a stopping service); an interrupted one is tried again next time.
    """
    stored = {f.id: f for f in findings.all()}
    assessment = assess(spec, [f.case() for f in stored.values()], config.design_basis.bounds())
    names = tuple(exporters)
    events: dict[str, TicketEvent] = {}
    for w in assessment.weaknesses:
        before = weaknesses.get(w.id)
        again = w.id in shown if shown is not None else bool(set(w.findings) & set(seen))
        if before is None:
            record = WeaknessRecord(w, "open", now, now, remedy_for(spec, w, stored, config, should_stop))
            events[w.id] = "opened"
        else:
            remedy = before.remedy
            stale = remedy is None or remedy.detail.startswith(INTERRUPTED)
            if set(before.weakness.findings) != set(w.findings) or stale:
                remedy = remedy_for(spec, w, stored, config, should_stop)
            record = replace(before, weakness=w, remedy=remedy, last_seen=now if again else before.last_seen)
            if again and before.status == "resolved":
                record = replace(record, status="open", resolved_at=None)
                events[w.id] = "reopened"
            elif again:
                events[w.id] = "reproduced"
        weaknesses.put(record)
        for name in names:
            if w.id in events:
                weaknesses.enqueue(w.id, name, events[w.id], now)
    return WeaknessUpdate(assessment, tuple(weaknesses.all()), events)


def resolve(record: WeaknessRecord, *, weaknesses: WeaknessStore, exporters: Iterable[str],
            now: datetime) -> WeaknessRecord:
    """The weakness no longer reproduces: resolved, and a ``resolved`` event for every exporter."""
    done = replace(record, status="resolved", resolved_at=now)
    weaknesses.put(done)
    for name in exporters:
        weaknesses.enqueue(record.id, name, "resolved", now)
    return done
