"""What the CLI and the service do with weaknesses after a game day: record them, send their tickets, report them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.config import Config
from agent.exporters.queue import DrainReport
from agent.findings.model import Finding
from agent.findings.store import FindingStore
from agent.weaknesses.flow import WeaknessUpdate, record_weaknesses
from agent.weaknesses.model import WeaknessRecord
from agent.weaknesses.store import WeaknessStore
from agent.weaknesses.tickets import TicketQueue, ticket_exporters
from envs.faults import INTENSITY_NAMES
from envs.spec import ClusterSpec
from envs.weaknesses import Impact


@dataclass(frozen=True)
class RunWeaknesses:
    """The weaknesses a run showed, the impact of its beyond-design-basis faults, and what was sent."""

    update: WeaknessUpdate
    shown: tuple[WeaknessRecord, ...]
    """Weaknesses this run's findings show, worst first."""
    impacts: tuple[Impact, ...]
    """This run's breaches under faults beyond the design basis (the blast-radius map)."""
    tickets: DrainReport | None

    def report(self) -> dict[str, Any]:
        """The report's ``weaknesses`` and ``impact`` entries."""
        return {"weaknesses": [r.to_report_dict() for r in self.shown],
                "impact": [impact_dict(i) for i in self.impacts]}


def impact_dict(impact: Impact) -> dict[str, Any]:
    return {"finding": impact.finding, "violation": impact.violation, "affected": list(impact.affected),
            "faults": [{"kind": f.kind.value, "intensity": INTENSITY_NAMES[f.intensity], "target": f.target}
                       for f in impact.faults],
            "reason": impact.reason}


def after_game_day(*, spec: ClusterSpec, config: Config, findings: FindingStore, run_findings: Iterable[Finding],
                   exporters: Mapping[str, object], now: datetime,
                   should_stop: Callable[[], bool] | None = None) -> RunWeaknesses:
    """Record the weaknesses behind the stored findings, queue their ticket events and send what is due."""
    run_ids = {f.id for f in run_findings}
    senders = ticket_exporters(exporters)
    with WeaknessStore(config.findings.path) as store:
        update = record_weaknesses(spec=spec, findings=findings, weaknesses=store, config=config, seen=run_ids,
                                   exporters=senders, now=now, should_stop=should_stop)
        shown = tuple(r for r in update.records if set(r.weakness.findings) & run_ids)
        tickets = send_tickets(store, findings, senders, now, config) if senders else None
    impacts = tuple(i for i in update.assessment.impacts if i.finding in run_ids)
    return RunWeaknesses(update, shown, impacts, tickets)


def send_tickets(store: WeaknessStore, findings: FindingStore, exporters: Mapping[str, Any], now: datetime,
                 config: Config) -> DrainReport:
    """Send the due ticket events, with the back-off and parking of ``[exporters]``'s queue settings."""
    return TicketQueue(store, findings, ticket_exporters(exporters), max_attempts=config.exporters.queue_max_attempts,
                       backoff_s=config.exporters.queue_backoff_s).drain(now)
