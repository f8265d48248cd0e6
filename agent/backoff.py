"""Exponential back-off with jitter: one implementation for every retry of the agent."""

from __future__ import annotations

import random


class Backoff:
    """Exponential back-off with full jitter: 1 s, 2 s, 4 s ... up to ``max_s``; ``reset`` on success."""

    def __init__(self, max_s: float, *, base_s: float = 1.0) -> None:
        self.max_s, self.base_s = max_s, base_s
        self.failures = 0
        self._rng = random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.base_s * 2 ** self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
