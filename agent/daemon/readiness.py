"""Whether the daemon is fit to inject, computed when /readyz is asked (as kopf's health reporter does).

Nothing is cached between requests: the halt comes from the halt watch itself, the dependencies from
the time of their last good answer, and the loop's own reasons not to inject (a failed recovery, a
schedule with nothing left) from ``Blockers``. So /readyz names an operator's halt the moment the watch
has seen it, whatever the main loop is busy with (a revert, a back-off).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

LastOk = Callable[[], float | None]
"""``time.monotonic()`` of the last good answer of a dependency, None before the first."""


class Blockers:
    """The loop's current reasons not to inject, by key; each is logged when it appears or changes."""

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def block(self, key: str, reason: str) -> None:
        with self._lock:
            changed = self._reasons.get(key) != reason
            self._reasons[key] = reason
        if changed:
            log.warning("not_injecting", why=key, reason=reason)

    def unblock(self, key: str) -> None:
        with self._lock:
            self._reasons.pop(key, None)

    def reasons(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(f"{key}: {reason}" for key, reason in sorted(self._reasons.items()))


class LastAnswer:
    """When a dependency last answered (``seen`` on every good answer); call it for the time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at: float | None = None

    def seen(self) -> None:
        self._at = self._clock()

    def __call__(self) -> float | None:
        return self._at


@dataclass(frozen=True)
class Readiness:
    """Ready = no blocker, both dependencies answered within ``max_age_s``, and no halt."""

    backend_ok_at: LastOk
    prometheus_ok_at: LastOk | None
    """None when Prometheus is not used (the simulated cluster, or a cluster read through the API only)."""
    halt_reason: Callable[[], str | None]
    """Why the agent is halted, None while it is not."""
    blockers: Callable[[], tuple[str, ...]] = tuple
    max_age_s: float = 60.0
    clock: Callable[[], float] = time.monotonic

    def problems(self) -> tuple[str, ...]:
        now = self.clock()
        found = list(self.blockers())
        for name, last_ok in (("cluster backend", self.backend_ok_at), ("prometheus", self.prometheus_ok_at)):
            if last_ok is None:
                continue
            at = last_ok()
            if at is None:
                found.append(f"{name} has not answered yet")
            elif now - at > self.max_age_s:
                found.append(f"{name} last answered {now - at:.0f} s ago (limit {self.max_age_s:g} s)")
        halt = self.halt_reason()
        if halt is not None:
            found.append(f"agent is halted: {halt}")
        return tuple(found)
