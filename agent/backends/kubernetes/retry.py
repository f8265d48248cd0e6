"""Retries with exponential back-off and full jitter, honouring Retry-After, for transient API errors.

Retried: 429 (except a PodDisruptionBudget refusing an eviction), 5xx and no answer at all. The
n-th delay is drawn uniformly below ``base_s * 2**(n-1)``, capped at ``max_s`` (``agent.backoff``); a
Retry-After from the server wins when longer. A policy with a ``deadline`` never sleeps past it: the
error is raised instead (leader election's renew deadline depends on it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from agent.backends.kubernetes.errors import (
    DisruptionBudgetRefused,
    KubernetesApiError,
    ServerError,
    TooManyRequests,
    Unreachable,
)
from agent.backoff import Backoff, call_with_retry

T = TypeVar("T")


def is_transient(error: KubernetesApiError) -> bool:
    if isinstance(error, DisruptionBudgetRefused):
        return False
    return isinstance(error, TooManyRequests | ServerError | Unreachable)


@dataclass
class RetryPolicy:
    attempts: int = 5
    """Tries in all, the first included."""
    base_s: float = 0.2
    max_s: float = 10.0
    max_retry_after_s: float = 60.0
    """A server asking for a longer pause than this gets this (the request then counts as failed sooner)."""
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    deadline: float | None = None
    """``time.monotonic()`` by which the call must have ended: no retry is started that would end later."""

    def delay(self, attempt: int, error: KubernetesApiError) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        return Backoff(self.base_s, self.max_s).delay(attempt - 1, self.rng, at_least=self._retry_after(error))

    def call(self, fn: Callable[[], T]) -> T:
        def wait_after(error: Exception) -> float | None:
            if not isinstance(error, KubernetesApiError) or not is_transient(error):
                return None
            return self._retry_after(error) or 0.0

        return call_with_retry(fn, attempts=self.attempts, backoff=Backoff(self.base_s, self.max_s),
                               wait_after=wait_after, rng=self.rng, sleep=self.sleep, deadline=self.deadline)

    def _retry_after(self, error: KubernetesApiError) -> float | None:
        retry_after = error.retry_after if isinstance(error, TooManyRequests) else None
        return None if retry_after is None else min(retry_after, self.max_retry_after_s)
