"""The one back-off: caps double up to the maximum, full and equal jitter stay in their ranges and are
reproducible from a seed, a Retry-After is a floor, a success resets a run, and the retry loop retries
only what it is told to, as often as it is allowed."""

from __future__ import annotations

import random

import pytest

from agent.backoff import Backoff, Retries, call_with_retry


def test_caps_double_up_to_the_maximum() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.cap(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert Backoff(1.0, 60.0).cap(10_000) == 60.0  # no overflow however long the outage


@pytest.mark.parametrize(("jitter", "low"), [("full", 0.0), ("equal", 0.5)])
def test_jitter_stays_in_its_range_and_is_seeded(jitter: str, low: float) -> None:
    backoff = Backoff(1.0, 8.0, jitter=jitter)  # type: ignore[arg-type]
    for retry in range(6):
        cap = backoff.cap(retry)
        draws = [backoff.delay(retry, random.Random(seed)) for seed in range(200)]
        assert all(low * cap <= d <= cap for d in draws)
        assert min(draws) < (low + 0.1) * cap and max(draws) > 0.9 * cap  # the whole range is used
    assert backoff.delay(3, random.Random(7)) == backoff.delay(3, random.Random(7))


def test_a_retry_after_is_a_floor() -> None:
    backoff = Backoff(1.0, 4.0)
    assert backoff.delay(0, random.Random(1), at_least=30.0) == 30.0
    assert backoff.delay(5, random.Random(1), at_least=0.001) >= 0.001
    with pytest.raises(ValueError, match="finite"):
        Backoff(1.0, float("inf"))


def test_a_run_of_failures_grows_and_a_success_resets_it() -> None:
    retries = Retries(Backoff(1.0, 60.0, jitter="equal"), random.Random(3))
    delays = [retries.next_delay() for _ in range(5)]
    assert [d >= c / 2 for d, c in zip(delays, (1, 2, 4, 8, 16), strict=True)] == [True] * 5
    assert delays[-1] > delays[0]
    retries.reset()
    assert retries.failures == 0 and retries.next_delay() <= 1.0


class Busy(Exception):
    def __init__(self, retry_after: float = 0.0) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


def test_the_loop_retries_what_it_is_told_to_with_the_floor_and_gives_up_after_attempts() -> None:
    outcomes: list[Exception | str] = [Busy(), Busy(retry_after=9.0), "ok"]

    def call() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def wait_after(e: Exception) -> float | None:
        return e.retry_after if isinstance(e, Busy) else None

    waits: list[float] = []
    assert call_with_retry(call, attempts=3, backoff=Backoff(0.5, 2.0), wait_after=wait_after,
                           rng=random.Random(1), sleep=waits.append) == "ok"
    assert len(waits) == 2 and waits[0] <= 0.5 and waits[1] == 9.0

    calls: list[int] = []

    def always_busy() -> str:
        calls.append(1)
        raise Busy()

    with pytest.raises(Busy):
        call_with_retry(always_busy, attempts=4, backoff=Backoff(0.5, 2.0), wait_after=wait_after, sleep=waits.append)
    assert len(calls) == 4

    def bug() -> str:
        calls.append(1)
        raise KeyError("a bug is not retried")

    with pytest.raises(KeyError):
        call_with_retry(bug, attempts=4, backoff=Backoff(0.5, 2.0), wait_after=wait_after, sleep=waits.append)
    assert len(calls) == 5
