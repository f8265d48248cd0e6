"""node_drain's refused evictions, tried again every 5 s from ``wait`` until the drain is reverted.

The seeded cluster puts one web pod (PDB minAvailable 3 of 3: every eviction refused) and db-0, db-1
on node-b. The backend runs on a clock the test moves, so a round is due exactly when the test says.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterator

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.faults.drain_retry import DRAIN_RETRY_S, DrainRetries
from agent.backends.kubernetes.marks import CORDONED_BY_ANNOTATION
from envs.cluster import Injection
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded, fast_api
from tests.emulator.server import KubernetesEmulator

T0 = 1_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def drainer(seeded: Seeded, clock: Clock) -> Iterator[KubernetesBackend]:
    b = KubernetesBackend(fast_api(seeded.emulator), name="test", clock=clock)
    b.cache._reconnect_delay_s = 0.05
    b.start(timeout_s=10)
    yield b
    b.close()


def evictions_of(em: KubernetesEmulator, pod: str) -> int:
    return sum(1 for r in em.requests if r.method == "POST" and r.path.endswith(f"/pods/{pod}/eviction"))


def web_pods_on(em: KubernetesEmulator, node: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in em.list("Pod", "shop") if p["spec"].get("nodeName") == node
                  and p["metadata"]["name"].startswith("web-"))


def relax_the_pdb(em: KubernetesEmulator) -> None:
    em.store.patch(em.type_of("PodDisruptionBudget"), "shop", "web", {"spec": {"minAvailable": 2}}, strategic=False)


def drain_b(backend: KubernetesBackend, em: KubernetesEmulator) -> tuple[Injection, str]:
    """Drain node-b; returns the injection and the web pod its PDB kept there."""
    injection = backend.inject(Fault(FaultKind.NODE_DRAIN, 0, "Node/node-b"), injection_id="drain-b")
    assert injection.outcome == "applied"
    [kept] = web_pods_on(em, "node-b")
    assert evictions_of(em, kept) == 1
    assert not [p for p in em.list("Pod", "shop") if p["metadata"]["name"].startswith("db-")]  # no PDB: evicted
    return injection, kept


def test_refused_evictions_are_retried_every_period_until_the_pdb_lets_go(
    seeded: Seeded, drainer: KubernetesBackend, clock: Clock
) -> None:
    em = seeded.emulator
    injection, web_b = drain_b(drainer, em)
    assert "refused: protected by PDB web" in injection.detail and "retrying" in injection.detail
    assert drainer.next_retry_s() == T0 + DRAIN_RETRY_S
    assert evictions_of(em, web_b) == 1

    clock.now = T0 + DRAIN_RETRY_S - 0.1
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1  # not due yet

    clock.now = T0 + DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 2  # due: tried, refused again, kept
    assert drainer.next_retry_s() == T0 + 2 * DRAIN_RETRY_S
    assert web_pods_on(em, "node-b") == [web_b]

    relax_the_pdb(em)
    clock.now = T0 + 2 * DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 3
    assert web_pods_on(em, "node-b") == []  # the drained node is empty
    assert drainer.next_retry_s() is None  # nothing left to retry
    drainer.revert(injection)
    assert not em.get("Node", "node-b")["spec"].get("unschedulable")


def test_retries_end_with_the_revert(seeded: Seeded, drainer: KubernetesBackend, clock: Clock) -> None:
    em = seeded.emulator
    injection, web_b = drain_b(drainer, em)
    drainer.revert(injection)
    assert drainer.next_retry_s() is None
    relax_the_pdb(em)
    clock.now = T0 + 10 * DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1  # only apply's
    assert web_pods_on(em, "node-b") == [web_b]


def test_the_orphan_sweep_ends_the_retries_too(seeded: Seeded, drainer: KubernetesBackend, clock: Clock) -> None:
    em = seeded.emulator
    _, web_b = drain_b(drainer, em)
    assert drainer.revert_orphans([]) == ["drain-b"]
    relax_the_pdb(em)
    clock.now = T0 + DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1
    assert not em.get("Node", "node-b")["spec"].get("unschedulable")


@pytest.mark.parametrize("lands_on", ["node-a", "node-b"], ids=["elsewhere", "on-the-same-node"])
def test_a_replaced_pod_is_not_retried(seeded: Seeded, drainer: KubernetesBackend, clock: Clock, lands_on: str) -> None:
    """A controller recreated the pod under the same name (a StatefulSet does): another uid, not ours to evict."""
    em = seeded.emulator
    injection, web_b = drain_b(drainer, em)
    pods = em.type_of("Pod")
    old = em.get("Pod", web_b, "shop")
    em.store.delete(pods, "shop", web_b)
    replacement = copy.deepcopy(old)
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        replacement["metadata"].pop(key, None)
    replacement["spec"]["nodeName"] = lands_on
    new_uid = em.put(replacement)["metadata"]["uid"]
    assert new_uid != old["metadata"]["uid"]
    relax_the_pdb(em)
    clock.now = T0 + DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1
    assert em.get("Pod", web_b, "shop")["metadata"]["uid"] == new_uid
    assert drainer.next_retry_s() is None  # dropped for good, not tried every period
    drainer.revert(injection)


def test_a_pod_that_moved_off_the_node_is_not_retried(
    seeded: Seeded, drainer: KubernetesBackend, clock: Clock
) -> None:
    em = seeded.emulator
    _, web_b = drain_b(drainer, em)
    em.store.patch(em.type_of("Pod"), "shop", web_b, {"spec": {"nodeName": "node-a"}}, strategic=False)
    relax_the_pdb(em)
    clock.now = T0 + DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1 and em.get("Pod", web_b, "shop")
    assert drainer.next_retry_s() is None


def test_no_retry_on_a_node_the_agent_did_not_cordon(seeded: Seeded, drainer: KubernetesBackend) -> None:
    em = seeded.emulator
    em.store.patch(em.type_of("Node"), "", "node-b", {"spec": {"unschedulable": True}}, strategic=False)
    assert drainer.cache.wait_until(lambda: not drainer.snapshot().nodes["Node/node-b"].schedulable)
    injection, _ = drain_b(drainer, em)
    assert "refused" in injection.detail and "retrying" not in injection.detail
    assert drainer.next_retry_s() is None


def test_retries_stop_when_someone_else_takes_the_cordon_over(
    seeded: Seeded, drainer: KubernetesBackend, clock: Clock
) -> None:
    """An operator uncordoned the node (dropping our mark) and cordoned it again: it is theirs now."""
    em = seeded.emulator
    _, web_b = drain_b(drainer, em)
    em.store.patch(em.type_of("Node"), "", "node-b", {"metadata": {"annotations": {CORDONED_BY_ANNOTATION: None}}},
                   strategic=False)
    relax_the_pdb(em)
    clock.now = T0 + DRAIN_RETRY_S
    drainer.wait(0)
    assert evictions_of(em, web_b) == 1 and web_pods_on(em, "node-b") == [web_b]
    assert drainer.next_retry_s() is None


def test_wait_runs_the_rounds_on_the_wall_clock_and_stops_with_the_stop_flag(seeded: Seeded) -> None:
    em = seeded.emulator
    backend = KubernetesBackend(fast_api(em), name="test")
    backend.ctx = dataclasses.replace(backend.ctx, drains=DrainRetries(period_s=0.1))
    try:
        backend.start(timeout_s=10)
        _, web_b = drain_b(backend, em)
        started = time.monotonic()
        backend.wait(0.35)
        assert time.monotonic() - started >= 0.35
        assert evictions_of(em, web_b) >= 3  # apply's, then one try per period
        relax_the_pdb(em)
        backend._stop.set()
        backend.wait(5)
        assert web_pods_on(em, "node-b") == [web_b]  # a stopping agent evicts nothing more
        backend._stop.clear()
        backend.wait(0.25)
        assert web_pods_on(em, "node-b") == []
    finally:
        backend.close()
