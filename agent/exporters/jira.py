"""Jira Cloud exporter (REST v3): a finding or a weakness becomes an issue with an ADF description; a recurrence
a comment; a weakness resolved by a retest takes the issue's transition into the "done" status category, one
that comes back the transition into "to do" (the workflow's own transitions, read from the issue).

Basic auth with the account email and an API token. Verified against the published Jira Cloud
platform OpenAPI parts and the Atlassian Document Format JSON schema (tests/schemas/), not a live Jira.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.config.exporters import JiraExport
from agent.errors import ExportError
from agent.exporters.base import fact_lines, recurrence_text, title
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.exporters.secrets import Secret
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent

if TYPE_CHECKING:
    from agent.weaknesses.tickets import WeaknessTicket


def _text(value: str, *, strong: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value or "-"}  # ADF text nodes must not be empty
    if strong:
        node["marks"] = [{"type": "strong"}]
    return node


def _paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(nodes)}


def adf_description(f: Finding) -> dict[str, Any]:
    """The finding as an Atlassian Document Format doc: a lead paragraph and a list of facts."""
    items = [
        {"type": "listItem", "content": [_paragraph(_text(f"{k}: ", strong=True), _text(v))]}
        for k, v in fact_lines(f)
    ]
    return {
        "version": 1,
        "type": "doc",
        "content": [
            _paragraph(
                _text("chaos-agent found a weakness: "),
                _text(f.hypothesis, strong=True),
                _text(f" did not hold under {f.faults_text()}."),
            ),
            {"type": "bulletList", "content": items},
            _paragraph(
                _text(
                    f"Reproduce: inject {f.fault.kind} at intensity {f.fault.intensity} on {f.target} "
                    f"and watch {f.evidence.breach.signal}."
                )
            ),
        ],
    }


def adf_comment(f: Finding) -> dict[str, Any]:
    return {"version": 1, "type": "doc", "content": [_paragraph(_text(recurrence_text(f)))]}


@dataclass
class JiraExporter:
    http: JsonHttp
    project_key: str
    issue_type: str = "Bug"
    labels: tuple[str, ...] = ("chaos-agent",)
    name: str = "jira"

    @classmethod
    def from_settings(cls, settings: JiraExport, context: ExporterContext) -> JiraExporter:
        token = context.required_secret("exporters.jira.token", env=settings.token_env, file=settings.token_file)
        # the encoded pair is as secret as the token: it is redacted from messages too
        basic = Secret(base64.b64encode(f"{settings.email}:{token.reveal()}".encode()).decode(), token.source)
        return cls(context.http("jira", settings.url, lambda: {"Authorization": f"Basic {basic.reveal()}"},
                                (token, basic)),
                   project_key=settings.project_key, issue_type=settings.issue_type, labels=settings.labels)

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        if existing is not None:
            self.http.request(
                "POST",
                f"/rest/api/3/issue/{existing.external_id}/comment",
                {"body": adf_comment(finding)},
                expect=(201,),
            )
            return existing
        return self._create(title(finding), adf_description(finding))

    def _create(self, summary: str, description: dict[str, Any]) -> ExportRef:
        fields = {
            "project": {"key": self.project_key},
            "summary": summary[:255],
            "issuetype": {"name": self.issue_type},
            "description": description,
            "labels": list(self.labels),
        }
        reply = self.http.request("POST", "/rest/api/3/issue", {"fields": fields}, expect=(201,))
        try:
            key = str(reply.body["key"])
        except (TypeError, KeyError) as e:
            raise ExportError("jira: POST /rest/api/3/issue answered 201 without an issue key") from e
        return ExportRef(self.name, key, f"{self.http.base_url.rstrip('/')}/browse/{key}")

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef:
        """One issue per weakness: opened, commented on, moved to done and back as the weakness goes."""
        if existing is None:
            lead = _paragraph(_text("chaos-agent found a weakness: "), _text(ticket.record.weakness.title, strong=True))
            facts = [{"type": "listItem", "content": [_paragraph(_text(f"{k}: ", strong=True), _text(v))]}
                     for k, v in ticket.facts()]
            doc = {"version": 1, "type": "doc", "content": [
                lead, _paragraph(_text(ticket.record.weakness.explanation)), {"type": "bulletList", "content": facts}]}
            existing = self._create(ticket.title, doc)
            if event == "opened":
                return existing
        comment = {"version": 1, "type": "doc", "content": [_paragraph(_text(ticket.event_text(event)))]}
        issue = f"/rest/api/3/issue/{existing.external_id}"
        if event in ("resolved", "reopened"):
            transition = self._transition(issue, "done" if event == "resolved" else "new")
            self.http.request("POST", f"{issue}/transitions", {
                "transition": {"id": transition}, "update": {"comment": [{"add": {"body": comment}}]}}, expect=(204,))
        else:
            self.http.request("POST", f"{issue}/comment", {"body": comment}, expect=(201,))
        return existing

    def _transition(self, issue: str, category: str) -> str:
        """The id of the issue's transition into a status of ``category`` (done, new) in its own workflow."""
        reply = self.http.request("GET", f"{issue}/transitions", None, expect=(200,))
        try:
            options = list(reply.body["transitions"])
            return next(str(t["id"]) for t in options if t["to"]["statusCategory"]["key"] == category)
        except (TypeError, KeyError, StopIteration) as e:
            raise ExportError(f"jira: {issue} has no transition into a {category!r} status") from e
