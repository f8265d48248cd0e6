"""The daemon's side of the export queue: a slot's findings are queued for every exporter, then sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import structlog

from agent.errors import ChaosAgentError
from agent.exporters import ExportQueue
from agent.findings import Finding

log = structlog.get_logger(__name__)


class ExportDrain:
    def __init__(self, queue: ExportQueue, *, clock: Callable[[], datetime]) -> None:
        self.queue = queue
        self.clock = clock

    def after_slot(self, findings: Iterable[Finding]) -> None:
        """Queue the slot's findings for every exporter and send what is due."""
        if not self.queue.exporters:
            return
        now = self.clock()
        try:
            for finding in findings:
                for name in self.queue.exporters:
                    self.queue.store.enqueue(finding.signature, name, now)
            report = self.queue.drain_queue(now)
        except ChaosAgentError as e:
            log.warning("export_drain_failed", error=str(e))
            return
        log.info("exports_drained", sent=report.sent, failed=report.failed, parked=report.parked)
