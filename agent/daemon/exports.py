"""The daemon's side of the export queue: after each slot the weaknesses behind the findings are recorded and
their ticket events queued (``[weaknesses] tickets = "weakness"``, the default) or the findings themselves are
queued for every exporter (``"finding"``); the queues are sent on their own thread every
``[findings] drain_every_s`` and at once after each slot.

Draining on a timer of its own means a finding leaves within about ``drain_every_s`` of its tracker
coming back (plus the queue's own back-off for that export), whatever the slots do: a halt, a quiet
schedule or a long game day no longer hold exports back until the next slot ends. The weakness step (the
analysis, each new fix verified in the twin: seconds of CPU) runs on the same thread, so it never delays a
slot or a stop; a stop interrupts a verification, which is tried again after the next slot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

import structlog

from agent.config import Config
from agent.errors import ChaosAgentError
from agent.exporters import ExportQueue
from agent.findings import Finding
from envs.spec import ClusterSpec

log = structlog.get_logger(__name__)
STOP_WAIT_S = 5.0
"""How long a stop waits for a drain in progress (an export's own retries can take longer)."""


class ExportDrain:
    def __init__(self, queue: ExportQueue, *, every_s: float, clock: Callable[[], datetime],
                 config: Config | None = None) -> None:
        self.queue = queue
        self.config = config
        """For weaknesses (their tickets, the design basis, the twin's verification); None: findings only."""
        self.every_s = every_s
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pending: list[tuple[ClusterSpec, list[Finding]]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="export-drain", daemon=True)

    def start(self) -> None:
        """Drain every ``every_s`` from now on (nothing to do without exporters or weaknesses to record)."""
        if self.queue.exporters or self.config is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)
            if self._thread.is_alive():
                log.warning("export_drain_still_running", waited_s=STOP_WAIT_S)

    @property
    def per_weakness(self) -> bool:
        return self.config is not None and self.config.weaknesses.tickets == "weakness"

    def record_weaknesses(self, spec: ClusterSpec, findings: Iterable[Finding]) -> None:
        """Have the drain thread record the weaknesses behind the stored findings (``findings`` are the slot's),
        verify their fixes in the twin and, with tickets per weakness, queue and send their ticket events."""
        if self.config is None:
            return
        with self._lock:
            self._pending.append((spec, list(findings)))
        self._wake.set()
        if not self._thread.is_alive():  # not started (a test driving the slots by hand): do it now
            self._record_pending()

    def _record_pending(self) -> None:
        with self._lock:
            jobs, self._pending = self._pending, []
        for spec, findings in jobs:
            self._record(spec, findings)

    def _record(self, spec: ClusterSpec, findings: list[Finding]) -> None:
        assert self.config is not None
        from agent.weaknesses.session import after_game_day

        try:
            weak = after_game_day(spec=spec, config=self.config, findings=self.queue.store, run_findings=findings,
                                  exporters=self.queue.exporters if self.per_weakness else {}, now=self.clock(),
                                  should_stop=self._stop.is_set)
        except ChaosAgentError as e:
            log.warning("weaknesses_failed", error=str(e))
            return
        sent = weak.tickets
        log.info("weaknesses_recorded", shown=[r.id for r in weak.shown], impacts=len(weak.impacts),
                 tickets_sent=sent.sent if sent else 0, tickets_failed=sent.failed if sent else 0)

    def queue_findings(self, findings: Iterable[Finding]) -> None:
        """Queue ``findings`` for every exporter (tickets per finding), and drain now rather than at the next
        tick."""
        if not self.queue.exporters or self.per_weakness:
            return
        now = self.clock()
        try:
            for finding in findings:
                for name in self.queue.exporters:
                    self.queue.store.enqueue(finding.signature, name, now)
        except ChaosAgentError as e:
            log.warning("export_enqueue_failed", error=str(e))
        self._wake.set()

    def drain(self) -> None:
        """Send what is due now; a failure stays queued with its back-off."""
        try:
            report = self.queue.drain_queue(self.clock())
            if self.per_weakness and self.config is not None:
                from agent.weaknesses.session import send_tickets
                from agent.weaknesses.store import WeaknessStore

                with WeaknessStore(self.config.findings.path) as store:
                    tickets = send_tickets(store, self.queue.store, self.queue.exporters, self.clock(), self.config)
                if tickets.sent or tickets.failed or tickets.parked:
                    log.info("tickets_drained", sent=tickets.sent, failed=tickets.failed, parked=tickets.parked)
        except ChaosAgentError as e:
            log.warning("export_drain_failed", error=str(e))
            return
        if report.sent or report.failed or report.parked:
            log.info("exports_drained", sent=report.sent, failed=report.failed, parked=report.parked)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.every_s)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:  # on a stop: the slot's weaknesses are still recorded (their verification cut short) and sent
                self._record_pending()
                if not stopping or self.per_weakness:  # a stop still sends what the last slot's weaknesses queued
                    self.drain()
            except Exception as e:  # noqa: BLE001 - the thread's last resort: say so, keep draining
                log.error("export_drain_crashed", error=f"{type(e).__name__}: {e}"[:300])
            if stopping:
                return
