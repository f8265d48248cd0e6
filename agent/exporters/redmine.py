"""Redmine exporter: a finding becomes an issue (POST /issues.json); a recurrence adds notes (PUT).

Authenticates with the ``X-Redmine-API-Key`` header. Verified against a real Redmine 5.0 in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.config.exporters import RedmineExport
from agent.errors import ExportError
from agent.exporters.base import markdown_body, recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef


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
        reply = self.http.request("POST", "/issues.json", {"issue": issue}, expect=(201,))
        try:
            number = int(reply.body["issue"]["id"])
        except (TypeError, KeyError, ValueError) as e:
            raise ExportError("redmine: POST /issues.json answered 201 without an issue id") from e
        return ExportRef(self.name, str(number), f"{self.http.base_url.rstrip('/')}/issues/{number}")
