"""What the daemon puts between the agent's loop and a cluster: a backend whose waits a halt can cut short.

``InterruptibleBackend`` turns a halt, a lost lease or SIGTERM into ``Interrupted`` at the next wait,
so the experiment's own ``finally`` reverts its fault at once (through the supervised, journalled
hands) instead of sleeping out the experiment window. It also binds the injection id to every log
line while a fault is applied or reverted, and counts the faults it holds for the metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from agent.errors import ChaosAgentError
from agent.service.http import AgentMetrics
from agent.service.logging import injection_context
from envs.cluster import ClusterBackend, ClusterState, Injection
from envs.faults import Fault

log = structlog.get_logger(__name__)


class Interrupted(ChaosAgentError):
    """A halt, a lost lease or a stop request cut the game day short; its faults are being reverted."""


class InterruptibleBackend:
    """A ``ClusterBackend`` whose waits end with ``Interrupted`` once ``interrupt`` is set."""

    def __init__(self, inner: ClusterBackend, interrupt: threading.Event, *, metrics: AgentMetrics,
                 on_answer: Callable[[], None] = lambda: None) -> None:
        self.inner = inner
        self.interrupt = interrupt
        self.metrics = metrics
        self._on_answer = on_answer
        self.active: dict[str, Injection] = {}
        self._lock = threading.Lock()

    def snapshot(self) -> ClusterState:
        state = self.inner.snapshot()
        self._on_answer()
        return state

    def now(self) -> float:
        return self.inner.now()

    def wait(self, seconds: float) -> None:
        if self.interrupt.is_set():
            raise Interrupted("stopping: the kill switch, a lost lease or a stop signal")
        self.inner.wait(seconds)  # the Kubernetes backend's wait ends early on the same event
        if self.interrupt.is_set():
            raise Interrupted("stopping: the kill switch, a lost lease or a stop signal")

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        with injection_context(injection_id, target=fault.target, family=fault.family):
            if self.interrupt.is_set():
                log.info("injection_refused", reason="the agent is stopping")
                return Injection(injection_id, fault, "refused", "the agent is stopping (halt, lost lease or signal)")
            log.info("injecting", fault=fault.describe())
            injection = self.inner.inject(fault, injection_id=injection_id)
            self._on_answer()
            log.info("injection_outcome", outcome=injection.outcome, detail=injection.detail[:300])
            self.metrics.record_injection(family=fault.family, outcome=injection.outcome)
            if injection.outcome == "applied":
                with self._lock:
                    self.active[injection.id] = injection
                    self.metrics.active_faults.set(len(self.active))
            return injection

    def revert(self, injection: Injection) -> None:
        with injection_context(injection.id, target=injection.fault.target, family=injection.fault.family):
            self.inner.revert(injection)
            self._on_answer()
            log.info("reverted")
            with self._lock:
                self.active.pop(injection.id, None)
                self.metrics.active_faults.set(len(self.active))

    def forget_all(self) -> None:
        """After a recovery from the journal: nothing of ours is active any more."""
        with self._lock:
            self.active.clear()
            self.metrics.active_faults.set(0)
