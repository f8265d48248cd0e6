"""The daemon's watchman: polls the kill switches (and Prometheus stop conditions while a fault is active)
every ``kill_switch_poll_s`` on its own thread, so a halt interrupts a running game day within a poll.

Two switches: the halt file (``chaos-agent halt``, one machine or pod) and, on a cluster, the ConfigMap
``chaos-agent-halt`` in the agent's namespace (every replica sees it; read from the backend's watch
cache, so polling costs no API call). Either one halts.

On a halt it journals the halt, sets the interrupt (the loop's next wait raises, and the experiment
reverts its fault), and keeps the flag until the operator resumes; on resume it journals that. A
stop condition that fires writes the kill switch itself: the agent stays halted until someone looks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog

from agent.audit import AuditJournal
from agent.errors import ChaosAgentError
from agent.prometheus.checks import SteadyStateChecks
from agent.safety import FileKillSwitch

log = structlog.get_logger(__name__)


HALT_CONFIGMAP = "chaos-agent-halt"


class HaltSource(Protocol):
    def halt_reason(self) -> str | None:
        """Why the agent is halted, or None when this switch does not halt it."""
        ...


class FileHalt:
    def __init__(self, switch: FileKillSwitch) -> None:
        self.switch = switch

    def halt_reason(self) -> str | None:
        if not self.switch.is_halted():
            return None
        notice = self.switch.notice()
        return notice.reason if notice is not None and notice.reason else f"halt file {self.switch.path} present"


class ConfigMapHalt:
    """Halted while ConfigMap ``chaos-agent-halt`` exists in ``namespace`` (its ``reason`` key says why).

    ``objects`` lists the cached ConfigMaps (the Kubernetes backend's watch cache)."""

    def __init__(self, objects: Callable[[], Sequence[dict[str, Any]]], *, namespace: str) -> None:
        self.objects = objects
        self.namespace = namespace

    def halt_reason(self) -> str | None:
        for cm in self.objects():
            meta = cm.get("metadata") or {}
            if meta.get("name") == HALT_CONFIGMAP and meta.get("namespace") == self.namespace:
                reason = (cm.get("data") or {}).get("reason") or "no reason given"
                return f"ConfigMap {self.namespace}/{HALT_CONFIGMAP}: {reason}"
        return None


class HaltWatch:
    def __init__(self, *, switch: FileKillSwitch, journal: AuditJournal, interrupt: threading.Event,
                 poll_s: float, stop_conditions: SteadyStateChecks | None = None,
                 faults_active: Callable[[], bool] = lambda: False, stop_check_every_s: float = 15.0) -> None:
        self.switch = switch
        self.journal = journal
        self.interrupt = interrupt
        self.poll_s = poll_s
        self.stop_conditions = stop_conditions
        self.faults_active = faults_active
        self.stop_check_every_s = stop_check_every_s
        self.sources: list[HaltSource] = [FileHalt(switch)]
        self.halted = threading.Event()
        self.reason = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="halt-watch", daemon=True)
        self._since_stop_check = 0.0

    def start(self) -> None:
        self.poll()  # the state at start-up is known before the first slot
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def halt_reason(self) -> str | None:
        """Why the agent is halted (the switches' reasons), None while it is not."""
        with self._lock:
            return self.reason if self.halted.is_set() else None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except ChaosAgentError as e:  # a journal that cannot be written: say so, keep watching
                log.error("halt_watch_failed", error=str(e))

    def poll(self) -> None:
        reasons = [r for r in (source.halt_reason() for source in self.sources) if r is not None]
        halted = bool(reasons)
        if halted and not self.halted.is_set():
            with self._lock:
                self.reason = "; ".join(reasons)
                self.halted.set()
            self.interrupt.set()
            log.warning("halted", reason=self.reason)
            self.journal.record_halt(self.reason)
        elif not halted and self.halted.is_set():
            with self._lock:
                was = self.reason
                self.halted.clear()
                self.reason = ""
            log.info("resumed", after=was)
            self.journal.record_resume(f"kill switch lifted (was: {was})")
        if halted or self.stop_conditions is None or not self.faults_active():
            self._since_stop_check = 0.0
            return
        self._since_stop_check += self.poll_s
        if self._since_stop_check < self.stop_check_every_s:
            return
        self._since_stop_check = 0.0
        self._check_stop_conditions()

    def _check_stop_conditions(self) -> None:
        assert self.stop_conditions is not None
        try:
            report = self.stop_conditions.stop_requested()
        except ChaosAgentError as e:  # PrometheusUnavailable: the slot's own samples fail closed
            log.warning("stop_conditions_unreadable", error=str(e))
            return
        fired = report.fired_stop_conditions
        if fired:
            reason = "stop condition fired: " + "; ".join(f"{r.name} ({r.detail})" for r in fired)
            log.error("stop_condition_fired", reason=reason)
            self.switch.halt(reason)
            self.poll()


class CombinedKillSwitch:
    """The guard's view of the halt: the watch's flag or the file itself, whichever says halted first."""

    def __init__(self, watch: HaltWatch) -> None:
        self.watch = watch

    def is_halted(self) -> bool:
        return self.watch.halted.is_set() or self.watch.switch.is_halted()

    def halt(self, reason: str) -> None:
        self.watch.switch.halt(reason)

    def resume(self) -> None:
        self.watch.switch.resume()
