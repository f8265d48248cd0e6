"""Leader election on a Lease in the emulator, with short durations: one leader among candidates, takeover
after the lease duration, and client-go's renew deadline under stalled requests, 429s and handovers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.errors import TooManyRequests
from agent.backends.kubernetes.leader import LeaderElector, LeaseTimings
from agent.backends.kubernetes.resources import LEASES
from agent.backends.kubernetes.retry import RetryPolicy
from tests.agent.backends.kubernetes.stalling_proxy import StallingProxy
from tests.emulator.server import KubernetesEmulator


def _elector(api: KubeApi, identity: str, **kw: float) -> LeaderElector:
    return LeaderElector(
        api,
        namespace="chaos-agent",
        name="leader",
        identity=identity,
        lease_duration_s=kw.get("duration", 1.0),
        retry_period_s=kw.get("retry", 0.1),
    )


def test_exactly_one_of_two_leads(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    a, b = _elector(api, "a"), _elector(api, "b")
    results = [a.try_acquire_or_renew(), b.try_acquire_or_renew()]
    assert results == [True, False]
    for _ in range(5):
        assert [a.try_acquire_or_renew(), b.try_acquire_or_renew()] == [True, False]
    lease = api.get(LEASES, "leader", namespace="chaos-agent")["spec"]
    assert lease["holderIdentity"] == "a" and lease["leaseDurationSeconds"] == 1
    assert lease["renewTime"].endswith("Z") and "." in lease["renewTime"]


def test_concurrent_candidates_one_wins(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    electors = [_elector(api, f"c{i}") for i in range(4)]
    barrier = threading.Barrier(len(electors))
    wins: list[str] = []

    def campaign(e: LeaderElector) -> None:
        barrier.wait()
        if e.try_acquire_or_renew():
            wins.append(e.identity)

    threads = [threading.Thread(target=campaign, args=(e,)) for e in electors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(wins) == 1


def test_standby_takes_over_within_the_lease_duration(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    a, b = _elector(api, "a"), _elector(api, "b")
    stop_a, stop_b = threading.Event(), threading.Event()
    leading: dict[str, bool] = {}
    ta = threading.Thread(target=a.run, args=(stop_a,), kwargs={"on_change": lambda v: leading.__setitem__("a", v)})
    ta.start()
    deadline = time.monotonic() + 2
    while not a.is_leader and time.monotonic() < deadline:
        time.sleep(0.02)
    tb = threading.Thread(target=b.run, args=(stop_b,), kwargs={"on_change": lambda v: leading.__setitem__("b", v)})
    tb.start()
    time.sleep(1.5)  # longer than the lease: b must not take over while a renews
    assert a.is_leader and not b.is_leader
    a._leading = False  # a crashes: it stops renewing without releasing
    stop_a.set()
    a.release = lambda: None  # type: ignore[method-assign]
    ta.join(2)
    crashed_at = time.monotonic()
    while not b.is_leader and time.monotonic() - crashed_at < 3:
        time.sleep(0.02)
    took = time.monotonic() - crashed_at
    assert b.is_leader and took <= 1.0 + 0.5  # the lease duration plus one retry period and slack
    stop_b.set()
    tb.join(2)
    assert leading == {"a": False, "b": False}
    assert api.get(LEASES, "leader", namespace="chaos-agent")["spec"]["holderIdentity"] == ""


def test_released_lease_is_taken_at_once(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    a, b = _elector(api, "a", duration=30), _elector(api, "b", duration=30)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert b.try_acquire_or_renew() and not a.try_acquire_or_renew()
    assert api.get(LEASES, "leader", namespace="chaos-agent")["spec"]["leaseTransitions"] == 1


# ---- client-go's renew deadline: a leader that cannot renew stops before anyone else can lead ----------


class Leadership:
    """When each replica's ``on_change`` said it leads (monotonic seconds): what the daemon acts on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.intervals: dict[str, list[list[float]]] = {}

    def callback(self, identity: str) -> Callable[[bool], None]:
        def on_change(leading: bool) -> None:
            with self.lock:
                spans = self.intervals.setdefault(identity, [])
                if leading:
                    spans.append([time.monotonic(), float("inf")])
                elif spans and spans[-1][1] == float("inf"):
                    spans[-1][1] = time.monotonic()
        return on_change

    def leader(self) -> str | None:
        with self.lock:
            now = [i for i, spans in self.intervals.items() if spans and spans[-1][1] == float("inf")]
        return now[0] if len(now) == 1 else None

    def overlaps(self) -> list[str]:
        with self.lock:
            flat = [(i, s, e) for i, spans in self.intervals.items() for s, e in spans]
        return [f"{a} {s1:.2f}-{e1:.2f} and {b} {s2:.2f}-{e2:.2f}"
                for n, (a, s1, e1) in enumerate(flat) for (b, s2, e2) in flat[n + 1:]
                if a != b and s1 < e2 and s2 < e1]

    def handovers(self) -> int:
        with self.lock:
            return max(0, sum(len(spans) for spans in self.intervals.values()) - 1)


@pytest.fixture
def proxies(k8s_emulator: KubernetesEmulator) -> Iterator[Callable[[], StallingProxy]]:
    made: list[StallingProxy] = []

    def make() -> StallingProxy:
        made.append(StallingProxy(k8s_emulator.url))
        return made[-1]

    yield make
    for p in made:
        p.close()


def _campaigner(url: str, identity: str, *, lease: float, renew: float, retry: float) -> LeaderElector:
    api = KubeApi.for_host(url)
    api.request_timeout_s = 2.0  # a stalled request hangs this long before the client retries
    api.retry = RetryPolicy(attempts=4, base_s=0.05, max_s=0.2)
    return LeaderElector(api, namespace="chaos-agent", name="leader", identity=identity, lease_duration_s=lease,
                         renew_deadline_s=renew, retry_period_s=retry)


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_timings_follow_client_go() -> None:
    assert LeaseTimings.for_lease(15) == LeaseTimings(15, 10, 2)
    with pytest.raises(ValueError, match="renew deadline"):
        LeaseTimings(15, 15, 2)
    assert LeaseTimings(1.2, 0.8, 0.1).written_duration_s == 2  # rounded up: a standby never waits less


def test_a_stalled_leader_stops_before_the_standby_takes_over(
        k8s_emulator: KubernetesEmulator, proxies: Callable[[], StallingProxy]) -> None:
    proxy = proxies()
    seen = Leadership()
    a = _campaigner(proxy.url, "a", lease=3.0, renew=1.5, retry=0.3)
    b = _campaigner(k8s_emulator.url, "b", lease=3.0, renew=1.5, retry=0.3)
    stops = {n: threading.Event() for n in "ab"}
    threads = [threading.Thread(target=e.run, args=(stops[e.identity],),
                                kwargs={"on_change": seen.callback(e.identity)}, daemon=True) for e in (a, b)]
    threads[0].start()
    _wait(lambda: seen.leader() == "a", 5, "a to lead")
    threads[1].start()
    time.sleep(1.0)
    proxy.stalled.set()  # every request of a now hangs (2 s timeouts, retried 4 times: 8 s in all)
    stalled_at = time.monotonic()
    _wait(lambda: seen.leader() == "b", 10, "b to take over")
    (a_span,) = seen.intervals["a"]
    assert a_span[1] - stalled_at <= 1.5 + 0.5, "a kept leading past its renew deadline"
    assert seen.overlaps() == [], seen.intervals
    proxy.stalled.clear()
    time.sleep(1.0)
    assert seen.leader() == "b" and not a.is_leader
    for e in stops.values():
        e.set()
    for t in threads:
        t.join(5)


def test_a_429_with_a_long_retry_after_cannot_hold_a_renewal_past_the_deadline(
        k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    a = LeaderElector(api, namespace="chaos-agent", name="leader", identity="a", lease_duration_s=15)
    assert a.try_acquire_or_renew()
    k8s_emulator.fail(r"^PUT /apis/coordination.k8s.io/", 429, retry_after=30, times=100)
    started = time.monotonic()
    with pytest.raises(TooManyRequests):
        a.try_acquire_or_renew(deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 1.0, "the renewal slept out the server's Retry-After"


def test_many_forced_handovers_never_two_leaders(
        k8s_emulator: KubernetesEmulator, proxies: Callable[[], StallingProxy]) -> None:
    """The leader's traffic is stalled again and again (a hanging API server, for that replica only):
    leadership moves each time, and the leading spans of the replicas never overlap."""
    names = ("a", "b", "c")
    links = {n: proxies() for n in names}
    seen = Leadership()
    stop = threading.Event()
    electors = [_campaigner(links[n].url, n, lease=1.5, renew=0.9, retry=0.15) for n in names]
    threads = [threading.Thread(target=e.run, args=(stop,), kwargs={"on_change": seen.callback(e.identity)},
                                daemon=True) for e in electors]
    for t in threads:
        t.start()
    try:
        _wait(lambda: seen.leader() is not None, 5, "a first leader")
        for _ in range(8):
            current = seen.leader()
            assert current is not None
            for n, link in links.items():
                link.stalled.set() if n == current else link.stalled.clear()
            _wait(lambda c=current: seen.leader() not in (None, c), 10, f"a replica other than {current} to lead")
    finally:
        stop.set()
        for link in links.values():
            link.stalled.clear()
        for t in threads:
            t.join(5)
    assert seen.handovers() >= 8
    assert seen.overlaps() == [], seen.intervals
