"""Retry a call with exponential back-off and full jitter, for transient Prometheus failures.

The n-th wait is uniform in [0, min(max_s, base_s * 2**n)] ("full jitter", ``agent.backoff``), so
agents that lost Prometheus together do not come back in lockstep. Errors marked as permanent are not
retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agent.backoff import Backoff
from agent.backoff import call_with_retry as retry_with_backoff

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_s: float = 0.5
    max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")
        if self.base_s < 0 or self.max_s < 0:
            raise ValueError(f"RetryPolicy back-offs must be >= 0, got {self.base_s}, {self.max_s}")

    @property
    def backoff(self) -> Backoff:
        return Backoff(self.base_s, self.max_s, jitter="full")

    def backoff_cap(self, retry: int) -> float:
        """The upper bound of the wait before retry number ``retry`` (0 for the first retry)."""
        return self.backoff.cap(retry)


def call_with_retry(
    fn: Callable[[], T], *, policy: RetryPolicy, retry_on: tuple[type[BaseException], ...],
    give_up_on: tuple[type[BaseException], ...] = (), rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``; on a ``retry_on`` error wait and try again, up to ``policy.attempts`` calls in all.

    The last error propagates unchanged. ``give_up_on`` errors (subclasses of ``retry_on`` included)
    propagate at once.
    """
    def wait_after(error: Exception) -> float | None:
        return 0.0 if isinstance(error, retry_on) and not isinstance(error, give_up_on) else None

    return retry_with_backoff(fn, attempts=policy.attempts, backoff=policy.backoff, wait_after=wait_after,
                              rng=rng, sleep=sleep)
