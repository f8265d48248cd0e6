"""Jira Cloud exporter (REST v3): a finding becomes an issue with an ADF description; a recurrence a comment.

Basic auth with the account email and an API token. Verified against the published Jira Cloud
platform OpenAPI parts and the Atlassian Document Format JSON schema (tests/schemas/), not a live Jira.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.errors import ExportError
from agent.exporters.base import fact_lines, recurrence_text, title
from agent.exporters.http import JsonHttp
from agent.findings.model import Finding
from agent.findings.store import ExportRef


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

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        if existing is not None:
            self.http.request(
                "POST",
                f"/rest/api/3/issue/{existing.external_id}/comment",
                {"body": adf_comment(finding)},
                expect=(201,),
            )
            return existing
        fields = {
            "project": {"key": self.project_key},
            "summary": title(finding)[:255],
            "issuetype": {"name": self.issue_type},
            "description": adf_description(finding),
            "labels": list(self.labels),
        }
        reply = self.http.request("POST", "/rest/api/3/issue", {"fields": fields}, expect=(201,))
        try:
            key = str(reply.body["key"])
        except (TypeError, KeyError) as e:
            raise ExportError("jira: POST /rest/api/3/issue answered 201 without an issue key") from e
        return ExportRef(self.name, key, f"{self.http.base_url.rstrip('/')}/browse/{key}")
