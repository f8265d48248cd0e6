"""Every fault of the registry injected into and reverted from the emulator, then family specifics."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.faults import FAULT_ACTIONS
from agent.backends.kubernetes.faults.network import NOT_INSTALLED
from agent.backends.kubernetes.marks import (
    INJECTION_LABEL,
    MANAGED_BY_LABEL,
    NODE_FAILURE_TAINT,
)
from agent.config.cluster import KubernetesCluster
from envs.faults import FAULT_KINDS, Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded, fast_api
from tests.emulator import objects as o

TARGETS: dict[FaultKind, str] = {
    FaultKind.POD_KILL: "shop/Deployment/web",
    FaultKind.POD_EVICTION: "shop/StatefulSet/db",
    FaultKind.CONTAINER_CRASH: "shop/Deployment/web",
    FaultKind.NODE_FAILURE: "Node/node-a",
    FaultKind.NODE_DRAIN: "Node/node-b",
    FaultKind.NETWORK_LATENCY: "shop/Deployment/web",
    FaultKind.NETWORK_JITTER: "shop/Deployment/web",
    FaultKind.NETWORK_LOSS: "shop/Deployment/web",
    FaultKind.NETWORK_PARTITION: "shop/Deployment/web",
    FaultKind.CPU_STRESS: "shop/Deployment/web",
    FaultKind.GPU_DEVICE_FAILURE: "Node/gpu-1",
    FaultKind.GPU_MEMORY_PRESSURE: "ml/Job/train",
    FaultKind.DATA_DRIFT: "ml/Job/train",
    FaultKind.CORRUPTED_ROWS: "ml/Job/train",
    FaultKind.DELAYED_INGESTION: "ml/Job/train",
}
REMOVES_PODS = {
    FaultKind.POD_KILL,
    FaultKind.POD_EVICTION,
    FaultKind.CONTAINER_CRASH,
    FaultKind.NODE_DRAIN,
    FaultKind.GPU_MEMORY_PRESSURE,
}


def test_registry_covers_the_catalog() -> None:
    assert set(FAULT_ACTIONS) == set(FAULT_KINDS)


def _cluster_marks(seeded: Seeded) -> list[Any]:
    """What can carry a mark: nodes (taints, annotations, unschedulable, GPU status) and objects."""
    em = seeded.emulator
    nodes = [
        (
            n["metadata"]["name"],
            n["spec"],
            n["metadata"].get("annotations"),
            n["status"].get("allocatable"),
            n["status"].get("capacity"),
        )
        for n in em.list("Node")
    ]
    made = [
        (x["kind"], x["metadata"]["name"])
        for kind in ("ConfigMap", "NetworkChaos", "StressChaos")
        for x in em.list(kind)
    ]
    return [nodes, made]


@pytest.mark.parametrize("kind", FAULT_KINDS, ids=[k.value for k in FAULT_KINDS])
def test_inject_then_revert_restores_the_cluster(seeded: Seeded, backend: KubernetesBackend, kind: FaultKind) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    before = _cluster_marks(seeded)
    pods_before = {p["metadata"]["name"] for p in em.list("Pod")}
    injection = backend.inject(Fault(kind, 1, TARGETS[kind], duration_s=90), injection_id=f"inj-{kind.value}")
    assert injection.outcome == "applied", injection.detail
    action = FAULT_ACTIONS[kind]
    if kind in REMOVES_PODS:
        assert injection.affected_pods
        gone = pods_before - {p["metadata"]["name"] for p in em.list("Pod")}
        assert {p.split("/", 1)[1] for p in injection.affected_pods} == gone
    else:
        assert _cluster_marks(seeded) != before
        assert action.marked(ctx=backend.ctx) == {injection.id}
    backend.revert(injection)
    assert action.marked(ctx=backend.ctx) == set()
    assert _cluster_marks(seeded) == before
    backend.revert(injection)  # idempotent
    assert _cluster_marks(seeded) == before


@pytest.mark.parametrize("kind", FAULT_KINDS, ids=[k.value for k in FAULT_KINDS])
def test_a_missing_target_fails_clearly(backend: KubernetesBackend, kind: FaultKind) -> None:
    target = "Node/ghost" if TARGETS[kind].startswith("Node/") else "shop/Deployment/ghost"
    injection = backend.inject(Fault(kind, 0, target), injection_id="x")
    assert injection.outcome == "failed" and "does not exist" in injection.detail


def test_eviction_refused_by_pdb(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.POD_EVICTION, 0, "shop/Deployment/web"), injection_id="e1")
    assert (injection.outcome, injection.detail) == ("refused", "protected by PDB web")
    assert len(seeded.emulator.list("Pod", "shop", "app=web")) == 3


def test_pod_kill_uses_the_grace_period_and_crash_uses_none(seeded: Seeded, backend: KubernetesBackend) -> None:
    backend.inject(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/web"), injection_id="k1")
    backend.inject(Fault(FaultKind.CONTAINER_CRASH, 0, "shop/StatefulSet/db"), injection_id="k2")
    deletes = [r.body["gracePeriodSeconds"] for r in seeded.emulator.requests if r.method == "DELETE"]
    assert deletes == [0, 0]  # the default is a hard kill, as Chaos Mesh's pod-kill
    graceful = KubernetesBackend(fast_api(seeded.emulator), settings=KubernetesCluster(pod_grace_period_s=30))
    graceful.start(timeout_s=10)
    try:
        graceful.inject(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/web"), injection_id="k3")
    finally:
        graceful.close()
    deletes = [r.body["gracePeriodSeconds"] for r in seeded.emulator.requests if r.method == "DELETE"]
    assert deletes[-1] == 30


def test_an_eviction_keeps_the_pods_own_grace_period(seeded: Seeded, backend: KubernetesBackend) -> None:
    backend.inject(Fault(FaultKind.POD_EVICTION, 0, "shop/StatefulSet/db"), injection_id="e1")
    [body] = [r.body for r in seeded.emulator.requests if r.path.endswith("/eviction")]
    assert "deleteOptions" not in body


def test_pod_kill_share_and_reproducible_choice(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.POD_KILL, 2, "shop/Deployment/web"), injection_id="all")
    assert len(injection.affected_pods) == 3
    plan_a = FAULT_ACTIONS[FaultKind.POD_KILL].plan(
        Fault(FaultKind.POD_KILL, 1, "shop/StatefulSet/db"),
        injection_id="same",
        view=_view(backend),
        ctx=backend.ctx,
    )
    plan_b = FAULT_ACTIONS[FaultKind.POD_KILL].plan(
        Fault(FaultKind.POD_KILL, 1, "shop/StatefulSet/db"),
        injection_id="same",
        view=_view(backend),
        ctx=backend.ctx,
    )
    assert plan_a.targets == plan_b.targets and len(plan_a.targets) == 1


def _view(backend: KubernetesBackend) -> Any:
    from agent.backends.kubernetes.view import ClusterView

    return ClusterView(backend.cache.objects())


def test_node_failure_taint_keeps_other_taints(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.store.patch(
        em.type_of("Node"),
        "",
        "node-a",
        {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}},
        strategic=False,
    )
    injection = backend.inject(Fault(FaultKind.NODE_FAILURE, 0, "Node/node-a"), injection_id="nf-1")
    taints = em.get("Node", "node-a")["spec"]["taints"]
    assert {(t["key"], t["value"], t["effect"]) for t in taints} == {
        ("dedicated", "db", "NoSchedule"),
        (NODE_FAILURE_TAINT, "nf-1", "NoExecute"),
    }
    backend.revert(injection)
    assert em.get("Node", "node-a")["spec"]["taints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]


def test_drain_uncordons_only_what_it_cordoned(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.store.patch(em.type_of("Node"), "", "node-a", {"spec": {"unschedulable": True}}, strategic=False)
    assert backend.cache.wait_until(lambda: not backend.snapshot().nodes["Node/node-a"].schedulable)
    injection = backend.inject(Fault(FaultKind.NODE_DRAIN, 0, "Node/node-a"), injection_id="d1")
    assert injection.outcome == "applied" and "refused: protected by PDB web" in injection.detail
    backend.revert(injection)
    assert em.get("Node", "node-a")["spec"]["unschedulable"] is True


def test_drain_skips_daemonset_pods(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    ds = em.put(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "a", "image": "a"}]},
                },
            },
        }
    )
    em.put(o.pod("agent-x", owner=ds, node_name="node-b"))
    assert backend.cache.wait_until(lambda: any(p["metadata"]["name"] == "agent-x" for p in backend.cache.objects()))
    injection = backend.inject(Fault(FaultKind.NODE_DRAIN, 2, "Node/node-b"), injection_id="d2")
    assert "kube/agent-x" not in injection.affected_pods and em.get("Pod", "agent-x", "kube")
    assert {p["spec"].get("nodeName") for p in em.list("Pod")} == {"node-a", "node-b", "gpu-1"} - {"node-b"} | {
        "node-b"
    }
    assert [p["metadata"]["name"] for p in em.list("Pod") if p["spec"].get("nodeName") == "node-b"] == ["agent-x"]


def test_gpu_failure_on_a_node_without_gpus_is_refused(backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/node-a"), injection_id="g")
    assert injection.outcome == "refused" and "no nvidia.com/gpu" in injection.detail


def test_failed_apply_is_reverted_at_once(seeded: Seeded, backend: KubernetesBackend) -> None:
    seeded.emulator.fail(r"PATCH /api/v1/nodes/gpu-1/status", 500, times=10)
    injection = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-1"), injection_id="g3")
    assert injection.outcome == "failed" and "500" in injection.detail
    node = seeded.emulator.get("Node", "gpu-1")
    assert "taints" not in node["spec"] and not node["metadata"].get("annotations")


@pytest.mark.parametrize("kind", [FaultKind.NETWORK_LATENCY, FaultKind.CPU_STRESS])
def test_chaos_mesh_missing_fails_with_a_clear_detail(
    seeded: Seeded, backend: KubernetesBackend, kind: FaultKind
) -> None:
    injection = backend.inject(Fault(kind, 0, "shop/Deployment/web"), injection_id="n1")
    assert (injection.outcome, injection.detail) == ("failed", NOT_INSTALLED)
    backend.revert(injection)  # nothing to revert, and no error for a missing API group


def test_network_chaos_objects(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    backend.inject(Fault(FaultKind.NETWORK_LATENCY, 1, "shop/Deployment/web", duration_s=120), injection_id="Run 7/a")
    backend.inject(Fault(FaultKind.NETWORK_PARTITION, 1, "shop/StatefulSet/db"), injection_id="p")
    backend.inject(Fault(FaultKind.CPU_STRESS, 2, "shop/Deployment/web", duration_s=30.5), injection_id="s")
    latency, partition = sorted(em.list("NetworkChaos", "shop"), key=lambda x: x["spec"]["action"])
    assert latency["spec"]["delay"]["latency"] == "500ms" and latency["spec"]["duration"] == "120s"
    assert latency["spec"]["selector"] == {"namespaces": ["shop"], "labelSelectors": {"app": "web"}}
    labels = latency["metadata"]["labels"]
    assert labels[MANAGED_BY_LABEL] == "chaos-agent" and labels[INJECTION_LABEL].startswith("h-")
    assert latency["metadata"]["annotations"]["chaos-agent.io/injection-id"] == "Run 7/a"
    assert partition["spec"]["mode"] == "fixed-percent" and partition["spec"]["value"] == "50"
    assert partition["spec"]["target"]["selector"]["expressionSelectors"] == [
        {"key": "app", "operator": "NotIn", "values": ["db"]}
    ]
    (stress,) = em.list("StressChaos", "shop")
    assert stress["spec"]["stressors"] == {"cpu": {"workers": 1, "load": 95}} and stress["spec"]["duration"] == "31s"


def test_data_fault_configmap_one_per_namespace(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    backend.ctx = dataclasses.replace(backend.ctx, clock=lambda: 1_800_000_000.0)
    injection = backend.inject(Fault(FaultKind.DATA_DRIFT, 1, "ml/Job/train", duration_s=60), injection_id="dd")
    cm = em.get("ConfigMap", "chaos-agent-data-fault", "ml")
    assert cm["data"] == {
        "kind": "data_drift",
        "magnitude": "1.5",
        "target": "ml/Job/train",
        "injection_id": "dd",
        "expires_at": "2027-01-15T08:01:00Z",
    }
    second = backend.inject(Fault(FaultKind.CORRUPTED_ROWS, 0, "ml/Job/train"), injection_id="cr")
    assert second.outcome == "refused" and "(dd) is already active" in second.detail
    backend.revert(second)
    assert em.get("ConfigMap", "chaos-agent-data-fault", "ml")  # not the refused injection's to remove
    backend.revert(injection)
    assert em.list("ConfigMap", "ml") == []


def test_a_create_that_timed_out_but_got_through_counts_as_applied(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    backend.api.request_timeout_s = 0.3
    # the first POST is answered too late for the client (which retries), but the server did create
    em.fail(r"POST /apis/chaos-mesh.org/v1alpha1/namespaces/shop/networkchaos", delay_s=0.6, late=True)
    injection = backend.inject(Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/web"), injection_id="slow")
    assert injection.outcome == "applied", injection.detail
    assert len(em.list("NetworkChaos", "shop")) == 1
    posts = [r for r in em.requests if r.method == "POST" and r.path.endswith("/networkchaos")]
    assert len(posts) == 2


def test_a_foreign_object_with_our_name_is_not_adopted(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    from agent.backends.kubernetes.marks import object_name

    em.put(
        {
            "apiVersion": "chaos-mesh.org/v1alpha1",
            "kind": "NetworkChaos",
            "metadata": {"name": object_name("chaos-agent", "clash"), "namespace": "shop"},
            "spec": {},
        }
    )
    injection = backend.inject(Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/web"), injection_id="clash")
    assert injection.outcome == "failed" and "not ours" in injection.detail
