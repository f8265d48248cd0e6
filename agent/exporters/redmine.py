"""Redmine exporter: a finding or a weakness becomes an issue (POST /issues.json); a recurrence adds notes
(PUT); a weakness resolved by a retest moves its issue to the "Resolved" status (a closed one when the
tracker has no status of that name), one that comes back to the default status.

Authenticates with the ``X-Redmine-API-Key`` header. Verified against a real Redmine 5.0 in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.config.exporters import RedmineExport
from agent.errors import ExportError
from agent.exporters.base import markdown_body, recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent

if TYPE_CHECKING:
    from agent.weaknesses.tickets import WeaknessTicket


@dataclass
class RedmineExporter:
    http: JsonHttp
    project: str
    tracker_id: int | None = None
    name: str = "redmine"

    @classmethod
    def from_settings(cls, settings: RedmineExport, context: ExporterContext) -> RedmineExporter:
        key = context.required_secret("exporters.redmine.api_key", env=settings.api_key_env,
                                      file=settings.api_key_file)
        return cls(context.http("redmine", settings.url, lambda: {"X-Redmine-API-Key": key.reveal()}, (key,)),
                   project=settings.project, tracker_id=settings.tracker_id)

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        if existing is not None:
            self.http.request(
                "PUT",
                f"/issues/{int(existing.external_id)}.json",
                {"issue": {"notes": recurrence_text(finding)}},
                expect=(200, 204),
            )
            return existing
        issue: dict[str, object] = {
            "project_id": self.project,
            "subject": title(finding)[:255],
            "description": markdown_body(finding),
        }
        if self.tracker_id is not None:
            issue["tracker_id"] = self.tracker_id
        return self._create(issue)

    def _create(self, issue: dict[str, Any]) -> ExportRef:
        reply = self.http.request("POST", "/issues.json", {"issue": issue}, expect=(201,))
        try:
            number = int(reply.body["issue"]["id"])
        except (TypeError, KeyError, ValueError) as e:
            raise ExportError("redmine: POST /issues.json answered 201 without an issue id") from e
        return ExportRef(self.name, str(number), f"{self.http.base_url.rstrip('/')}/issues/{number}")

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef:
        """One issue per weakness: opened, commented on, resolved and reopened as the weakness goes."""
        if existing is None:
            issue: dict[str, Any] = {"project_id": self.project, "subject": ticket.title[:255],
                                     "description": ticket.markdown()}
            if self.tracker_id is not None:
                issue["tracker_id"] = self.tracker_id
            existing = self._create(issue)
            if event == "opened":
                return existing
        update: dict[str, Any] = {"notes": ticket.event_text(event)}
        if event in ("resolved", "reopened"):
            update["status_id"] = self._status("resolved" if event == "resolved" else "open")
        self.http.request("PUT", f"/issues/{int(existing.external_id)}.json", {"issue": update}, expect=(200, 204))
        return existing

    def _status(self, which: str) -> int:
        """The id of the "Resolved" status (else the first closed one), or of the default (open) status."""
        reply = self.http.request("GET", "/issue_statuses.json", None, expect=(200,))
        try:
            statuses = list(reply.body["issue_statuses"])
        except (TypeError, KeyError) as e:
            raise ExportError("redmine: GET /issue_statuses.json answered without issue_statuses") from e
        if which == "resolved":
            named = [s for s in statuses if str(s.get("name", "")).lower() == "resolved"]
            picked = named or [s for s in statuses if s.get("is_closed")]
        else:
            picked = [s for s in statuses if not s.get("is_closed")]
        if not picked:
            raise ExportError(f"redmine: no {which} issue status in GET /issue_statuses.json")
        return int(picked[0]["id"])
