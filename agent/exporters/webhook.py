"""Generic webhook exporter: POST the finding as JSON, signed with HMAC-SHA256 when a key is configured.

The body is ``{"event": "finding.created" | "finding.recurred", "finding": <report dict>}``, or for a
weakness ``{"event": "weakness.opened" | ".reproduced" | ".resolved" | ".reopened", "weakness": <report dict>}``; the
signature header carries ``sha256=<hex>`` of the exact body bytes, as GitHub's webhooks do, and
``Idempotency-Key`` lets a receiver drop a redelivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.config.exporters import WebhookExport
from agent.exporters.context import ExporterContext
from agent.exporters.http import JsonHttp
from agent.exporters.secrets import Secret
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent

if TYPE_CHECKING:
    from agent.weaknesses.tickets import WeaknessTicket


def sign(key: Secret, body: bytes) -> str:
    return "sha256=" + hmac.new(key.reveal().encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookExporter:
    http: JsonHttp
    key: Secret | None = None
    signature_header: str = "X-Chaos-Agent-Signature"
    name: str = "webhook"

    @classmethod
    def from_settings(cls, settings: WebhookExport, context: ExporterContext) -> WebhookExporter:
        key = context.secret("exporters.webhook.secret", env=settings.secret_env, file=settings.secret_file)
        return cls(context.http("webhook", settings.url, secrets=(key,) if key else ()), key=key,
                   signature_header=settings.signature_header)

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef:
        event = "finding.recurred" if existing is not None else "finding.created"
        body = json.dumps({"event": event, "finding": finding.to_report_dict()}, sort_keys=True).encode()
        headers = {
            "X-Chaos-Agent-Event": event,
            "Idempotency-Key": f"{finding.signature}:{finding.reproductions}",
        }
        self._post(body, headers)
        return existing or ExportRef(self.name, finding.id, self.http.base_url)

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        if self.key is not None:
            headers[self.signature_header] = sign(self.key, body)
        self.http.request("POST", "", data=body, extra_headers=headers, expect=tuple(range(200, 300)))

    def ticket(self, ticket: WeaknessTicket, event: TicketEvent, existing: ExportRef | None) -> ExportRef:
        payload: dict[str, Any] = {"event": f"weakness.{event}", "weakness": ticket.record.to_report_dict(),
                                   "text": ticket.event_text(event)}
        body = json.dumps(payload, sort_keys=True).encode()
        r = ticket.record
        stamp = (r.resolved_at if event == "resolved" and r.resolved_at else r.last_seen).isoformat()
        self._post(body, {"X-Chaos-Agent-Event": f"weakness.{event}",
                          "Idempotency-Key": f"{ticket.id}:{event}:{stamp}"})
        return existing or ExportRef(self.name, ticket.id, self.http.base_url)
