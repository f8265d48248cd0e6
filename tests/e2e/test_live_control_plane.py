"""The test control plane is Kubernetes' own code: controllers, scheduler, eviction API, node lifecycle,
optimistic concurrency, RBAC, admission and CRD schemas behave as in a production cluster.

Each of these fails on the emulator (tests/emulator), which is why the end-to-end tests run here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.workloads import (
    apply_all,
    delete_namespace,
    deployment,
    namespace,
    pdb,
    ready_pods,
    wait_ready,
)
from tests.servers.kubernetes import DEFAULT_NODES, TIMING, ControlPlane, conditions
from tests.servers.kubernetes_api import ApiStatus, wait_until


@pytest.fixture
def ns(control_plane: ControlPlane) -> Iterator[str]:
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    control_plane.admin.create("/api/v1/namespaces", namespace(name))
    yield name
    delete_namespace(control_plane.admin, name, wait=False)


def test_a_deployment_gets_a_replicaset_and_its_pods_run_on_hollow_nodes(control_plane: ControlPlane, ns: str) -> None:
    api = control_plane.admin
    apply_all(api, [deployment(ns, "web", 3)])
    pods = wait_ready(api, ns, "web", 3)
    assert {p["spec"]["nodeName"] for p in pods} <= set(control_plane.nodes)
    (rs,) = api.list(f"/apis/apps/v1/namespaces/{ns}/replicasets")
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"] for p in pods)
    status = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")["status"]
    wait_until(lambda: api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")["status"].get("availableReplicas")
               == 3, timeout_s=30, what="the Deployment's status to count 3 available")
    assert status["observedGeneration"] >= 1


def test_an_eviction_a_pdb_forbids_is_refused_with_429(control_plane: ControlPlane, ns: str) -> None:
    api = control_plane.admin
    apply_all(api, [deployment(ns, "db", 2), pdb(ns, "db", min_available=2)])
    pods = wait_ready(api, ns, "db", 2)
    wait_until(lambda: api.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/db")["status"]
               .get("currentHealthy") == 2, timeout_s=30, what="the disruption controller to count the PDB")
    name = pods[0]["metadata"]["name"]
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
    with pytest.raises(ApiStatus) as refused:
        api.create(f"/api/v1/namespaces/{ns}/pods/{name}/eviction", eviction)
    assert refused.value.code == 429, refused.value
    assert "disruption budget" in str(refused.value).lower()


def test_a_lease_put_with_a_stale_resource_version_conflicts(control_plane: ControlPlane, ns: str) -> None:
    api = control_plane.admin
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
    lease = api.create(path, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}})
    stale = dict(lease)
    first = {**lease, "spec": {**lease["spec"], "holderIdentity": "b"}}
    api.replace(f"{path}/leader", first)
    with pytest.raises(ApiStatus) as conflict:
        api.replace(f"{path}/leader", {**stale, "spec": {**stale["spec"], "holderIdentity": "c"}})
    assert conflict.value.code == 409
    assert api.get(f"{path}/leader")["spec"]["holderIdentity"] == "b"


def test_rbac_is_enforced_for_a_service_account(control_plane: ControlPlane, ns: str) -> None:
    api = control_plane.admin
    api.create(f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "nobody"}})
    token = control_plane.token(ns, "nobody")
    nobody = api.with_token(token)
    assert nobody.get("/version")["major"] == "1"
    with pytest.raises(ApiStatus) as forbidden:
        nobody.list("/api/v1/nodes")
    assert forbidden.value.code == 403


def test_chaos_mesh_crds_validate_with_their_own_schema(control_plane: ControlPlane, ns: str) -> None:
    api = control_plane.admin
    path = f"/apis/chaos-mesh.org/v1alpha1/namespaces/{ns}/networkchaos"
    good = {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos", "metadata": {"name": "ok"},
            "spec": {"action": "delay", "mode": "all", "selector": {"namespaces": [ns]},
                     "delay": {"latency": "100ms"}, "duration": "30s"}}
    api.create(path, good)
    bad = {**good, "metadata": {"name": "bad"}, "spec": {**good["spec"], "action": "teleport"}}
    with pytest.raises(ApiStatus) as invalid:
        api.create(path, bad)
    assert invalid.value.code == 422 and "teleport" in str(invalid.value)


def test_pods_with_network_probes_are_refused_on_hollow_nodes(control_plane: ControlPlane, ns: str) -> None:
    body = deployment(ns, "x", 1)["spec"]["template"]
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probed"}, "spec": body["spec"]}
    body["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"port": 80}}
    with pytest.raises(ApiStatus) as refused:
        control_plane.admin.create(f"/api/v1/namespaces/{ns}/pods", body)
    assert refused.value.code in (403, 422) and "192.168.192.168" in str(refused.value)


def test_a_stopped_hollow_node_goes_not_ready_and_its_pods_are_evicted(control_plane: ControlPlane, ns: str) -> None:
    """The node lifecycle controller marks the node, taints it NoExecute, the taint manager evicts the
    pods once their default toleration (DefaultTolerationSeconds) runs out, and the ReplicaSet replaces them."""
    api = control_plane.admin
    victim = DEFAULT_NODES[1].name
    untainted = [n.name for n in DEFAULT_NODES if not n.taints]
    apply_all(api, [deployment(ns, "spread", len(untainted), topologySpreadConstraints=[{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "spread"}},
        "nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Honor"}])])
    pods = wait_ready(api, ns, "spread", len(untainted))
    on_victim = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == victim]
    assert on_victim, f"no pod landed on {victim}: {[p['spec']['nodeName'] for p in pods]}"
    control_plane.stop_node(victim)
    try:
        grace = float(TIMING["--node-monitor-grace-period"].rstrip("s"))

        def not_ready() -> dict[str, Any] | None:
            node = api.get(f"/api/v1/nodes/{victim}")
            return node if conditions(node).get("Ready") == "Unknown" else None

        node = wait_until(not_ready, timeout_s=grace + 30, what=f"node {victim} to go NotReady (Ready=Unknown)")
        wait_until(lambda: {"node.kubernetes.io/unreachable"}
                   <= {t["key"] for t in api.get(f"/api/v1/nodes/{victim}")["spec"].get("taints") or []
                       if t["effect"] == "NoExecute"},
                   timeout_s=30, what=f"the unreachable NoExecute taint on {victim}")
        assert node["status"]["conditions"]
        toleration = float(TIMING["--default-unreachable-toleration-seconds"])

        def evicted() -> bool:
            current = {p["metadata"]["name"]: p for p in api.list(f"/api/v1/namespaces/{ns}/pods")}
            return all(name not in current or current[name]["metadata"].get("deletionTimestamp")
                       for name in on_victim)

        wait_until(evicted, timeout_s=toleration + 30, what=f"the pods on {victim} to be evicted")
        replaced = wait_until(lambda: (r if len(r := [p for p in ready_pods(api, ns, "spread")
                                                     if p["spec"]["nodeName"] != victim]) >= len(untainted) else None),
                              timeout_s=60, what="the ReplicaSet to replace the evicted pods elsewhere")
        assert victim not in {p["spec"]["nodeName"] for p in replaced}
    finally:
        control_plane.start_node(victim)
    assert control_plane.node_ready(victim)
