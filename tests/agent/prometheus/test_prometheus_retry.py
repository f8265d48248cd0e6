"""Exponential back-off with full jitter, bounded attempts, permanent errors not retried."""

from __future__ import annotations

import random

import pytest

from agent.prometheus.retry import RetryPolicy, call_with_retry


class Flaky(Exception):
    pass


class Permanent(Flaky):
    pass


def test_waits_grow_exponentially_up_to_the_cap_with_jitter() -> None:
    waits: list[float] = []
    calls = 0

    def always_fails() -> int:
        nonlocal calls
        calls += 1
        raise Flaky("down")

    policy = RetryPolicy(attempts=6, base_s=1.0, max_s=4.0)
    with pytest.raises(Flaky):
        call_with_retry(always_fails, policy=policy, retry_on=(Flaky,), rng=random.Random(1),
                        sleep=waits.append)
    assert calls == 6 and len(waits) == 5
    caps = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(0 <= w <= cap for w, cap in zip(waits, caps, strict=True))
    assert len(set(waits)) == 5  # jittered, not a fixed ladder
    again: list[float] = []
    with pytest.raises(Flaky):
        call_with_retry(always_fails, policy=policy, retry_on=(Flaky,), rng=random.Random(1),
                        sleep=again.append)
    assert again == waits  # seeded: reproducible


def test_success_after_failures_and_permanent_errors_propagate_at_once() -> None:
    outcomes: list[Exception | int] = [Flaky("a"), Flaky("b"), 42]

    def flaky() -> int:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    waits: list[float] = []
    assert call_with_retry(flaky, policy=RetryPolicy(attempts=3), retry_on=(Flaky,), sleep=waits.append) == 42
    assert len(waits) == 2

    def permanent() -> int:
        raise Permanent("bad query")

    with pytest.raises(Permanent):
        call_with_retry(permanent, policy=RetryPolicy(attempts=3), retry_on=(Flaky,), give_up_on=(Permanent,),
                        sleep=waits.append)
    assert len(waits) == 2


def test_other_errors_are_not_retried() -> None:
    def broken() -> int:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retry(broken, policy=RetryPolicy(attempts=3), retry_on=(Flaky,), sleep=lambda s: None)


def test_policy_bounds() -> None:
    with pytest.raises(ValueError, match="attempts must be >= 1"):
        RetryPolicy(attempts=0)
    assert RetryPolicy(base_s=0.5, max_s=3).backoff_cap(10) == 3
