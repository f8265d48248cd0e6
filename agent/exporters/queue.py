"""The export queue's driver: record findings (store + enqueue per exporter) and drain what is due.

``drain_queue(now)`` sends each due export through its exporter, passing the ticket already on
record so a recurrence comments instead of opening a duplicate. A failure stays queued with an
exponential, jittered next attempt (or the server's Retry-After when longer); after
``max_attempts`` drains it is parked until the finding recurs.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from agent.backoff import Backoff
from agent.config.exporters import ExportersSettings
from agent.errors import ExportError
from agent.exporters.base import Exporter
from agent.exporters.build import build_exporters
from agent.exporters.http import TransientExportError
from agent.findings.model import Finding
from agent.findings.store import FindingStore

log = structlog.get_logger(__name__)
MAX_QUEUE_BACKOFF_S = 86400.0


@dataclass(frozen=True)
class DrainReport:
    sent: int = 0
    failed: int = 0
    parked: int = 0
    skipped: int = 0
    """Due exports whose exporter is no longer configured; they wait for it to come back."""


@dataclass
class ExportQueue:
    store: FindingStore
    exporters: Mapping[str, Exporter]
    max_attempts: int = 20
    backoff_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, store: FindingStore, settings: ExportersSettings, *,
                      environ: Mapping[str, str] | None = None) -> ExportQueue:
        """The configured exporters behind a queue with ``queue_max_attempts`` and ``queue_backoff_s``."""
        return cls(store, build_exporters(settings, environ=environ), max_attempts=settings.queue_max_attempts,
                   backoff_s=settings.queue_backoff_s)

    def record(self, findings: Iterable[Finding], now: datetime) -> list[tuple[Finding, bool]]:
        """Store each finding (merging repeats) and queue its export to every configured exporter."""
        out = []
        for f in findings:
            stored, new = self.store.upsert(f)
            for name in self.exporters:
                self.store.enqueue(stored.signature, name, now)
            out.append((stored, new))
        return out

    def drain_queue(self, now: datetime) -> DrainReport:
        sent = failed = parked = skipped = 0
        for entry in self.store.due(now):
            exporter = self.exporters.get(entry.exporter)
            finding = self.store.get(entry.signature)
            if exporter is None or finding is None:
                skipped += 1
                continue
            existing = self.store.export_ref(entry.signature, entry.exporter)
            try:
                ref = exporter.export(finding, existing)
            except ExportError as e:
                attempts = entry.attempts + 1
                if attempts >= self.max_attempts:
                    self.store.mark_failed(entry, str(e), None)
                    parked += 1
                    log.warning(
                        "export_parked",
                        exporter=entry.exporter,
                        finding=finding.id,
                        attempts=attempts,
                        error=str(e),
                    )
                    continue
                retry_after = e.retry_after_s if isinstance(e, TransientExportError) else None
                delay = Backoff(self.backoff_s, MAX_QUEUE_BACKOFF_S, jitter="equal").delay(
                    attempts - 1, self.rng, at_least=retry_after)
                self.store.mark_failed(entry, str(e), now + timedelta(seconds=delay))
                failed += 1
                log.warning(
                    "export_failed",
                    exporter=entry.exporter,
                    finding=finding.id,
                    attempts=attempts,
                    retry_in_s=round(delay, 1),
                    error=str(e),
                )
                continue
            self.store.mark_sent(entry, ref, now)
            sent += 1
            log.info(
                "exported",
                exporter=entry.exporter,
                finding=finding.id,
                ticket=ref.external_id,
                update=existing is not None,
            )
        return DrainReport(sent=sent, failed=failed, parked=parked, skipped=skipped)
