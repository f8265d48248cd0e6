"""GitHub Issues exporter: a finding or a weakness becomes an issue; a recurrence becomes a comment on it; a
weakness resolved by a retest closes its issue (``state_reason`` completed), one that comes back reopens it.

REST API version 2022-11-28 (``X-GitHub-Api-Version``), bearer token. Verified against the
published OpenAPI description (tests/schemas/github-issues.schema.json), not a live GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.config.exporters import GitHubExport
from agent.errors import ExportError
from agent.exporters.base import markdown_body, recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent

if TYPE_CHECKING:
    from agent.weaknesses.tickets import WeaknessTicket

API_VERSION = "2022-11-28"


@dataclass
class GitHubExporter:
    http: JsonHttp
    repository: str
    labels: tuple[str, ...] = ("chaos-agent",)
    name: str = "github"

    @classmethod
    def from_settings(cls, settings: GitHubExport, context: ExporterContext) -> GitHubExporter:
        token = context.required_secret("exporters.github.token", env=settings.token_env, file=settings.token_file)

        def headers() -> dict[str, str]:
            return {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION}

        return cls(context.http("github", settings.api_url, headers, (token,)), repository=settings.repository,
                   labels=settings.labels)

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        base = f"/repos/{self.repository}/issues"
        if existing is not None:
            self.http.request(
                "POST",
                f"{base}/{int(existing.external_id)}/comments",
                {"body": recurrence_text(finding)},
                expect=(201,),
            )
            return existing
        return self._create(title(finding), markdown_body(finding))

    def _create(self, issue_title: str, body: str) -> ExportRef:
        base = f"/repos/{self.repository}/issues"
        reply = self.http.request("POST", base, {"title": issue_title, "body": body, "labels": list(self.labels)},
                                  expect=(201,))
        try:
            number, url = int(reply.body["number"]), str(reply.body.get("html_url", ""))
        except (TypeError, KeyError, ValueError) as e:
            raise ExportError(f"github: POST {base} answered 201 without an issue number") from e
        return ExportRef(self.name, str(number), url)

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef:
        """One issue per weakness: opened, commented on, closed as completed and reopened as the weakness goes."""
        if existing is None:
            existing = self._create(ticket.title, ticket.markdown())
            if event == "opened":
                return existing
        issue = f"/repos/{self.repository}/issues/{int(existing.external_id)}"
        self.http.request("POST", f"{issue}/comments", {"body": ticket.event_text(event)}, expect=(201,))
        if event == "resolved":
            self.http.request("PATCH", issue, {"state": "closed", "state_reason": "completed"}, expect=(200,))
        elif event == "reopened":
            self.http.request("PATCH", issue, {"state": "open", "state_reason": "reopened"}, expect=(200,))
        return existing
