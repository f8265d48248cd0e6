"""GitHub Issues exporter: a finding becomes an issue; a recurrence becomes a comment on it.

REST API version 2022-11-28 (``X-GitHub-Api-Version``), bearer token. Verified against the
published OpenAPI description (tests/schemas/github-issues.schema.json), not a live GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.config.exporters import GitHubExport
from agent.errors import ExportError
from agent.exporters.base import markdown_body, recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef

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
        body = {"title": title(finding), "body": markdown_body(finding), "labels": list(self.labels)}
        reply = self.http.request("POST", base, body, expect=(201,))
        try:
            number, url = int(reply.body["number"]), str(reply.body.get("html_url", ""))
        except (TypeError, KeyError, ValueError) as e:
            raise ExportError(f"github: POST {base} answered 201 without an issue number") from e
        return ExportRef(self.name, str(number), url)
