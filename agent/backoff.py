"""Exponential back-off with jitter: the one implementation behind every retry of the agent.

The n-th wait (n from 0) is drawn below ``cap(n) = min(max_s, base_s * 2**n)``: from ``[0, cap]`` with
full jitter, so agents that failed together do not come back in lockstep, or from ``[cap / 2, cap]``
with equal jitter, where a wait must not collapse to nothing (the daemon's loops, the export queue).
A server's Retry-After is a floor (``at_least``). Used by the Prometheus client, the Kubernetes API
client, the exporters' HTTP client and the export queue (``Backoff.delay``), and by the daemon
(``Retries``, a run of failures that a success resets).

Hand-written rather than tenacity: the four places share the formula but not the loop (a durable queue
whose attempts live in SQLite, loops that wait on the daemon's stop event, a Retry-After that either
sets the wait or ends the call), and every test draws from a seeded ``random.Random``, which tenacity's
waits cannot take.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")
Jitter = Literal["full", "equal"]


@dataclass(frozen=True)
class Backoff:
    base_s: float
    """The first wait's cap; it doubles with each retry."""
    max_s: float
    """No wait's cap is longer."""
    jitter: Jitter = "full"

    def __post_init__(self) -> None:
        if not (0 <= self.base_s < float("inf") and 0 <= self.max_s < float("inf")):
            raise ValueError(f"back-off times must be finite and >= 0, got base {self.base_s}, max {self.max_s}")

    def cap(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (0 for the first)."""
        return min(self.max_s, self.base_s * 2.0 ** min(retry, 64))

    def delay(self, retry: int, rng: random.Random, *, at_least: float | None = None) -> float:
        """The wait before retry number ``retry``; never shorter than ``at_least`` (a Retry-After)."""
        cap = self.cap(retry)
        wait = rng.uniform(0.0 if self.jitter == "full" else cap / 2, cap)
        return wait if at_least is None else max(wait, at_least)


class Retries:
    """A run of failures: ``next_delay`` after each, ``reset`` after a success."""

    def __init__(self, backoff: Backoff, rng: random.Random | None = None) -> None:
        self.backoff = backoff
        self.failures = 0
        self._rng = rng if rng is not None else random.Random()

    def next_delay(self) -> float:
        delay = self.backoff.delay(self.failures, self._rng)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def call_with_retry(fn: Callable[[], T], *, attempts: int, backoff: Backoff,
                    wait_after: Callable[[Exception], float | None], rng: random.Random | None = None,
                    sleep: Callable[[float], None] = time.sleep, deadline: float | None = None,
                    clock: Callable[[], float] = time.monotonic) -> T:
    """``fn()``, up to ``attempts`` calls in all.

    ``wait_after(error)`` decides about each failure: None propagates it at once (a permanent error, a
    bug), a number retries after the back-off's delay but not sooner than that number (0.0, or a
    server's Retry-After). With a ``deadline`` (on ``clock``), no pause is taken that would end at or
    after it: the error propagates instead. The last error propagates unchanged.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    draw = rng if rng is not None else random.Random()
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as e:
            least = wait_after(e)
            if least is None or attempt + 1 >= attempts:
                raise
            pause = backoff.delay(attempt, draw, at_least=least or None)
            if deadline is not None and clock() + pause >= deadline:
                raise
            sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
