"""Retry a call with exponential back-off and full jitter, for transient Prometheus failures.

The n-th wait is uniform in [0, min(max_s, base_s * 2**n)] ("full jitter"), so agents that lost
Prometheus together do not come back in lockstep. Errors marked as permanent are not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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

    def backoff_cap(self, retry: int) -> float:
        """The upper bound of the wait before retry number ``retry`` (0 for the first retry)."""
        return min(self.max_s, self.base_s * (2.0 ** retry))


def call_with_retry(
    fn: Callable[[], T], *, policy: RetryPolicy, retry_on: tuple[type[BaseException], ...],
    give_up_on: tuple[type[BaseException], ...] = (), rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``; on a ``retry_on`` error wait and try again, up to ``policy.attempts`` calls in all.

    The last error propagates unchanged. ``give_up_on`` errors (subclasses of ``retry_on`` included)
    propagate at once.
    """
    draw = rng if rng is not None else random.Random()
    for attempt in range(policy.attempts):
        try:
            return fn()
        except give_up_on:
            raise
        except retry_on:
            if attempt + 1 >= policy.attempts:
                raise
            sleep(draw.uniform(0.0, policy.backoff_cap(attempt)))
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
