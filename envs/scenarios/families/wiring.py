"""Call-graph helpers the families share: how many of something, and who calls whom."""

from __future__ import annotations

from collections.abc import Sequence

from envs.scenarios.draft import WorkloadDraft
from envs.scenarios.habits import Builder, call


def count(b: Builder, lo: int, hi: int, scale: float) -> int:
    """Between ``lo`` and ``hi`` (both scaled), at least one."""
    return max(1, b.rng.randint(round(lo * scale), max(round(lo * scale), round(hi * scale))))


def fan_out(b: Builder, callers: Sequence[WorkloadDraft], callees: Sequence[WorkloadDraft], lo: int, hi: int) -> None:
    """Each caller calls ``lo``-``hi`` distinct callees; every callee gets at least one caller."""
    if not callers or not callees:
        return
    called: set[str] = set()
    for caller in callers:
        k = min(len(callees), b.rng.randint(lo, hi))
        for callee in b.rng.sample(list(callees), k):
            call(b, caller, callee)
            called.add(callee.name)
    for callee in callees:
        if callee.name not in called:
            call(b, b.rng.choice(list(callers)), callee)
