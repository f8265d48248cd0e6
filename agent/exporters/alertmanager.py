"""Alertmanager exporter: each finding is an alert (POST /api/v2/alerts); each recurrence re-posts it.

Alertmanager identifies an alert by its labels, so the labels are the finding's stable identity
(alertname, signature, finding id, violation, fault kind, target) plus its severity label. Each post
sets ``endsAt = now + resolve_after_s``: the alert keeps firing while the finding recurs and
resolves by itself after. When the severity label changes, the alert under the old label is ended
in the same post, so there is never a stale duplicate. A weakness is one alert (``weakness_id`` label) that
fires while it reproduces and ends (``endsAt`` now) when a retest resolves it. Verified against a real
Alertmanager 0.25.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agent.config.exporters import AlertmanagerExport
from agent.exporters.base import recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent

if TYPE_CHECKING:
    from agent.weaknesses.tickets import WeaknessTicket


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class AlertmanagerExporter:
    http: JsonHttp
    alertname: str = "ChaosAgentFinding"
    resolve_after_s: float = 3600.0
    generator_url: str | None = None
    clock: Callable[[], datetime] = field(default=_now)
    name: str = "alertmanager"

    @classmethod
    def from_settings(cls, settings: AlertmanagerExport, context: ExporterContext) -> AlertmanagerExporter:
        return cls(context.http("alertmanager", settings.url), alertname=settings.alertname,
                   resolve_after_s=settings.resolve_after_s, generator_url=settings.generator_url)

    def labels(self, f: Finding, severity: str) -> dict[str, str]:
        return {
            "alertname": self.alertname,
            "severity": severity,
            "signature": f.signature,
            "finding_id": f.id,
            "violation": f.violation,
            "fault_kind": f.fault.kind,
            "target": f.target,
        }

    def _alert(self, f: Finding, severity: str, ends: datetime) -> dict[str, Any]:
        alert: dict[str, Any] = {
            "labels": self.labels(f, severity),
            "annotations": {
                "summary": title(f),
                "description": recurrence_text(f)
                if f.reproductions > 1
                else f"{f.hypothesis} did not hold under {f.faults_text()}",
                "hypothesis": f.hypothesis,
            },
            "startsAt": _rfc3339(f.first_seen),
            "endsAt": _rfc3339(ends),
        }
        if self.generator_url:
            alert["generatorURL"] = self.generator_url
        return alert

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        now = self.clock()
        alerts = [self._alert(finding, finding.severity_label, now + timedelta(seconds=self.resolve_after_s))]
        previous = existing.external_id.rpartition(":")[2] if existing is not None else None
        if previous and previous != finding.severity_label:
            alerts.append(self._alert(finding, previous, now))  # end the alert under the old severity
        self.http.request("POST", "/api/v2/alerts", alerts, expect=(200,))
        return ExportRef(
            self.name, f"{finding.id}:{finding.severity_label}", f"{self.http.base_url.rstrip('/')}/#/alerts"
        )

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef:
        """The weakness as one alert: firing while it reproduces, ended when a retest resolves it."""
        now = self.clock()
        w = ticket.record.weakness
        ends = now if event == "resolved" else now + timedelta(seconds=self.resolve_after_s)
        alerts = [self._weakness_alert(ticket, w.severity_label, ends)]
        previous = existing.external_id.rpartition(":")[2] if existing is not None else None
        if previous and previous != w.severity_label:
            alerts.append(self._weakness_alert(ticket, previous, now))
        self.http.request("POST", "/api/v2/alerts", alerts, expect=(200,))
        return ExportRef(self.name, f"{w.id}:{w.severity_label}", f"{self.http.base_url.rstrip('/')}/#/alerts")

    def _weakness_alert(self, ticket: WeaknessTicket, severity: str, ends: datetime) -> dict[str, Any]:
        w = ticket.record.weakness
        alert: dict[str, Any] = {
            "labels": {"alertname": self.alertname, "severity": severity, "weakness_id": w.id,
                       "kind": w.cause.value, "locus": w.locus},
            "annotations": {"summary": ticket.title, "description": w.explanation,
                            "fix": "" if ticket.record.remedy is None else ticket.record.remedy.summary},
            "startsAt": _rfc3339(ticket.record.first_seen),
            "endsAt": _rfc3339(ends),
        }
        if self.generator_url:
            alert["generatorURL"] = self.generator_url
        return alert
