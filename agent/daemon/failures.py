"""Failures logged once per cause: a retry that meets the same failure again says nothing new.

A cluster failure is a cause by its message, and is news again once the cluster has recovered
(``cleared``). An audit journal that cannot be written stays broken until the agent is restarted
(``AuditJournal`` refuses every write after the first failure), so it is one cause for good.
"""

from __future__ import annotations

import threading
from typing import Literal

import structlog

from agent.errors import AuditError, ChaosAgentError

log = structlog.get_logger(__name__)
JOURNAL = "the audit journal"


class FailureLog:
    def __init__(self) -> None:
        self._said: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def once(self, event: str, error: ChaosAgentError, *, level: Literal["warning", "error"] = "error",
             **fields: object) -> bool:
        """Log ``event`` unless this cause was logged already; True when it was logged now."""
        cause = JOURNAL if isinstance(error, AuditError) else str(error)
        with self._lock:
            if (event, cause) in self._said:
                return False
            self._said.add((event, cause))
        (log.warning if level == "warning" else log.error)(event, error=str(error), **fields)
        return True

    def cleared(self) -> None:
        """The cluster did what was asked: its failures are news again if they come back."""
        with self._lock:
            self._said = {said for said in self._said if said[1] == JOURNAL}
