"""Tickets follow weaknesses: one ticket per weakness in every exporter, events as comments and state changes.

A ``WeaknessTicket`` is what every exporter renders: the title, the facts, the fix, the evidence. Each
exporter implements ``ticket(ticket, event, existing)``: ``opened`` creates the ticket; ``reproduced``
comments on it; ``resolved`` closes it with a comment; ``reopened`` opens it again. ``drain_tickets``
sends the due events in order, with the same back-off and parking as the findings' queue.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from agent.errors import ExportError
from agent.exporters.http import TransientExportError
from agent.exporters.queue import MAX_QUEUE_BACKOFF_S, DrainReport
from agent.findings.model import Finding
from agent.findings.store import ExportRef, FindingStore
from agent.weaknesses.model import TicketEvent, WeaknessRecord
from agent.weaknesses.store import WeaknessStore

log = structlog.get_logger(__name__)
TITLE_PREFIX = "[chaos-agent]"


@dataclass(frozen=True)
class WeaknessTicket:
    record: WeaknessRecord
    findings: tuple[Finding, ...]
    """The evidence: the findings behind the weakness (those still in the store)."""

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def title(self) -> str:
        return f"{TITLE_PREFIX} {self.record.weakness.title} ({self.record.id})"

    def facts(self) -> list[tuple[str, str]]:
        w, r = self.record.weakness, self.record
        fix = r.remedy
        verified = "no fix known" if fix is None else (
            "verified in the twin" if fix.verified else f"not verified in the twin: {fix.detail}")
        return [
            ("Weakness", w.id),
            ("Kind", w.cause.value + ("".join(f", {a.cause.value}" for a in w.aspects[1:]))),
            ("Severity", f"{w.severity:.2f} ({w.severity_label}); path importance {w.importance:.2f}"),
            ("Breaks", "; ".join(w.slos)),
            ("Targets", ", ".join(w.targets)),
            ("Fix", "none known" if fix is None else fix.summary),
            ("Fix status", verified),
            ("Evidence", f"{len(w.findings)} finding(s): {', '.join(w.findings)}"),
            ("First seen", r.first_seen.isoformat()),
            ("Last seen", r.last_seen.isoformat()),
        ]

    def evidence_lines(self) -> list[str]:
        return [f"{f.id}: {f.faults_text()} broke {f.hypothesis} (seen {f.reproductions}x)" for f in self.findings]

    def markdown(self) -> str:
        rows = "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in self.facts())
        fix = self.record.remedy
        patch = "" if fix is None or not fix.patch else f"\n\nPatch to the manifests:\n\n```yaml\n{fix.patch}```\n"
        evidence = "\n".join(f"- {line}" for line in self.evidence_lines())
        return (f"chaos-agent found a weakness: **{self.record.weakness.title}**.\n\n"
                f"{self.record.weakness.explanation}\n\n| | |\n|---|---|\n{rows}{patch}\n\nEvidence:\n\n{evidence}\n")

    def event_text(self, event: TicketEvent) -> str:
        r = self.record
        if event == "reproduced":
            return (f"Reproduced again ({r.last_seen.isoformat()}): {len(r.weakness.findings)} finding(s) now show it; "
                    f"severity {r.weakness.severity:.2f} ({r.weakness.severity_label}).")
        if event == "resolved":
            return (f"Resolved: a retest re-ran its reproducing experiments and none reproduces it any more "
                    f"({r.resolved_at.isoformat() if r.resolved_at else ''}).")
        if event == "reopened":
            return f"Reopened: it reproduces again ({r.last_seen.isoformat()})."
        return f"Opened: {r.weakness.title}."


class TicketExporter(Protocol):
    name: str

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef: ...


def ticket_of(record: WeaknessRecord, findings: FindingStore) -> WeaknessTicket:
    found = [findings.get(f) for f in record.weakness.findings]
    return WeaknessTicket(record, tuple(f for f in found if f is not None))


@dataclass
class TicketQueue:
    """Sends the weaknesses' ticket events through the exporters."""

    weaknesses: WeaknessStore
    findings: FindingStore
    exporters: Mapping[str, TicketExporter]
    max_attempts: int = 20
    backoff_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def drain(self, now: datetime) -> DrainReport:
        sent = failed = parked = skipped = 0
        for entry in self.weaknesses.due(now):
            exporter = self.exporters.get(entry.exporter)
            record = self.weaknesses.get(entry.weakness)
            if exporter is None or record is None:
                skipped += 1
                continue
            existing = self.weaknesses.ticket(entry.weakness, entry.exporter)
            try:
                ref = exporter.ticket(ticket_of(record, self.findings), entry.event, existing)
            except ExportError as e:
                attempts = entry.attempts + 1
                if attempts >= self.max_attempts:
                    self.weaknesses.mark_failed(entry, str(e), None)
                    parked += 1
                    log.warning("ticket_parked", exporter=entry.exporter, weakness=entry.weakness, error=str(e))
                    continue
                delay = min(MAX_QUEUE_BACKOFF_S, self.backoff_s * 2 ** (attempts - 1))
                delay = self.rng.uniform(delay / 2, delay)
                if isinstance(e, TransientExportError) and e.retry_after_s is not None:
                    delay = max(delay, e.retry_after_s)
                self.weaknesses.mark_failed(entry, str(e), now + timedelta(seconds=delay))
                failed += 1
                log.warning("ticket_failed", exporter=entry.exporter, weakness=entry.weakness, ticket_event=entry.event,
                            retry_in_s=round(delay, 1), error=str(e))
                continue
            self.weaknesses.mark_sent(entry, ref, now)
            sent += 1
            log.info("ticket_sent", exporter=entry.exporter, weakness=entry.weakness, ticket_event=entry.event,
                     ticket=ref.external_id)
        return DrainReport(sent=sent, failed=failed, parked=parked, skipped=skipped)


def ticket_exporters(exporters: Mapping[str, object]) -> dict[str, TicketExporter]:
    """The configured exporters that can keep weakness tickets (every built-in one can)."""
    return {name: e for name, e in exporters.items() if callable(getattr(e, "ticket", None))}  # type: ignore[misc]

