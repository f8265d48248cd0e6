"""Leader election on a Lease in the emulator, with short durations."""

from __future__ import annotations

import threading
import time

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.leader import LeaderElector
from agent.backends.kubernetes.resources import LEASES
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
