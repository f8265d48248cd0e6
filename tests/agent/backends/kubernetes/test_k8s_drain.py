"""node_drain takes what ``kubectl drain --ignore-daemonsets --delete-emptydir-data`` without ``--force``
takes: never a pod no controller manages, a DaemonSet or mirror pod, or a pod of a protected namespace."""

from __future__ import annotations

from typing import Any

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.faults.nodes import drain_skip_reason
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded
from tests.emulator import objects as o


def _bare(name: str, namespace: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, **meta},
            "spec": {"nodeName": "node-b", "containers": [{"name": "c", "image": "debug"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.fixture
def crowded(seeded: Seeded, backend: KubernetesBackend) -> dict[str, str]:
    """node-b as a real node holds it: beside db-0, db-1 and a web pod, pods a drain must leave alone."""
    em = seeded.emulator
    dns, _ = o.seed_workload(em, o.deployment("coredns", namespace="kube-system", replicas=1), [])
    ds = em.put({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube"},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
                     "metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}}})
    rs = em.list("ReplicaSet", "kube-system")[0]
    em.put(o.pod("coredns-x", owner=rs, node_name="node-b"))
    em.put(o.pod("agent-x", owner=ds, node_name="node-b"))
    em.put(_bare("debug", "kube-system"))
    em.put(_bare("scratch", "shop"))
    em.put(_bare("kube-proxy-node-b", "kube-system",
                 annotations={"kubernetes.io/config.mirror": "abc"}))
    em.put(_bare("adopted", "shop", ownerReferences=[{**o.controller_ref(seeded.web), "controller": False}]))
    expected = {
        "kube-system/coredns-x": "in protected namespace kube-system",
        "kube/agent-x": "a DaemonSet pod",
        "kube-system/debug": "managed by no controller (kubectl drain needs --force for it)",
        "shop/scratch": "managed by no controller (kubectl drain needs --force for it)",
        "kube-system/kube-proxy-node-b": "a mirror pod",
        "shop/adopted": "managed by no controller (kubectl drain needs --force for it)",
    }
    assert backend.cache.wait_until(lambda: {f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                                             for p in backend.cache.objects() if p["kind"] == "Pod"} >= set(expected))
    assert dns
    return expected


def test_the_skip_rules_are_kubectls(seeded: Seeded, backend: KubernetesBackend, crowded: dict[str, str]) -> None:
    reasons = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": drain_skip_reason(p)
               for p in seeded.emulator.list("Pod") if p["spec"].get("nodeName") == "node-b"}
    assert {k: v for k, v in reasons.items() if v is not None} == crowded
    assert {k for k, v in reasons.items() if v is None} == {
        f"shop/{p['metadata']['name']}" for p in seeded.db_pods + seeded.web_pods
        if p["spec"]["nodeName"] == "node-b"}


@pytest.mark.parametrize("intensity", [0, 2], ids=["evict", "delete"])
def test_a_drain_leaves_them_running(seeded: Seeded, backend: KubernetesBackend, crowded: dict[str, str],
                                     intensity: int) -> None:
    em = seeded.emulator
    injection = backend.inject(Fault(FaultKind.NODE_DRAIN, intensity, "Node/node-b"), injection_id=f"d{intensity}")
    assert injection.outcome == "applied", injection.detail
    assert not set(injection.affected_pods) & set(crowded)
    left = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in em.list("Pod")}
    assert set(crowded) <= left
    assert ("left alone as kubectl drain without --force: kube-system/debug (no controller), shop/adopted "
            "(no controller), shop/scratch (no controller), kube-system/coredns-x (protected namespace)"
            ) in injection.detail
    assert {f"shop/{p['metadata']['name']}" for p in seeded.db_pods} <= set(injection.affected_pods)
    backend.revert(injection)
