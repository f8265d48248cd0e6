"""The twin against the real control plane: the same manifests, the same single faults, on hollow nodes and in
the simulator; what each shows about placement and recovery times.

The cluster is a control plane of its own with four hollow nodes in three zones. Ballast pods pinned to
three of them make their free capacity differ, so the scheduler's scores rarely tie (where they do, the
real scheduler draws at random and the twin takes the first name). The workloads are created in the
order the twin places them (by key), each waited for, so both schedule the same pods in the same order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import load_config
from agent.twin.inputs import build, gather
from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec
from tests.e2e.workloads import apply_all, deployment, namespace, ready_pods, wait_ready
from tests.servers.kubernetes import ControlPlane, NodeSpec
from tests.servers.kubernetes_api import RestClient, wait_until

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
NS = "fidelity"
NODES = (NodeSpec("n-a1", {ZONE: "zone-a"}), NodeSpec("n-a2", {ZONE: "zone-a"}), NodeSpec("n-b1", {ZONE: "zone-b"}),
         NodeSpec("n-c1", {ZONE: "zone-c"}))
BALLAST = {"n-a1": "610m", "n-a2": "430m", "n-b1": "270m"}
"""CPU pinned to nodes so that their free capacity, and so LeastAllocated's scores, differ."""


def _selector(app: str) -> dict[str, Any]:
    return {"matchLabels": {"app": app}}


def workloads() -> list[dict[str, Any]]:
    """In the twin's order (by key): ballast first (its names sort before the rest), then the constrained ones."""
    out = [deployment(NS, f"a-ballast-{node}", 1, cpu=cpu, nodeSelector={HOST: node})
           for node, cpu in sorted(BALLAST.items())]
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    out.append(deployment(NS, "anti", 2, affinity={"podAntiAffinity": {required: [
        {"topologyKey": HOST, "labelSelector": _selector("anti")}]}}))
    out.append(deployment(NS, "near", 2, affinity={"podAffinity": {required: [
        {"topologyKey": ZONE, "labelSelector": _selector("anti")}]}}))
    out.append(deployment(NS, "plain", 3))
    out.append(deployment(NS, "spread", 4, topologySpreadConstraints=[
        {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": _selector("spread")}]))
    return out


def deploy(api: RestClient) -> None:
    apply_all(api, [namespace(NS)])
    for obj in workloads():
        apply_all(api, [obj])
        wait_ready(api, NS, obj["metadata"]["name"], obj["spec"]["replicas"], timeout_s=120)


def replace_pods(api: RestClient) -> None:
    """Schedule the constrained workloads afresh, in deploy()'s order, as the twin places them.

    Round 1's failures move pods (a replacement may land in any zone maxSkew allows, ties broken at
    random), so without this the cluster round 2 fails differs from the one the twin was built from."""
    constrained = [w for w in workloads() if not w["metadata"]["name"].startswith("a-ballast-")]
    for obj in constrained:
        api.patch(f"/apis/apps/v1/namespaces/{NS}/deployments/{obj['metadata']['name']}", {"spec": {"replicas": 0}})
    for obj in constrained:
        name = obj["metadata"]["name"]
        wait_until(lambda name=name: not api.list(f"/api/v1/namespaces/{NS}/pods", labelSelector=f"app={name}")
                   or None, timeout_s=120, what=f"no pods of {name}")
    for obj in constrained:
        name, replicas = obj["metadata"]["name"], obj["spec"]["replicas"]
        api.patch(f"/apis/apps/v1/namespaces/{NS}/deployments/{name}", {"spec": {"replicas": replicas}})
        wait_ready(api, NS, name, replicas, timeout_s=120)


def real_placement(api: RestClient) -> dict[str, list[str]]:
    pods = api.list(f"/api/v1/namespaces/{NS}/pods")
    out: dict[str, list[str]] = {}
    for p in pods:
        if not p["metadata"].get("deletionTimestamp"):
            out.setdefault(f"{NS}/Deployment/{p['metadata']['labels']['app']}", []).append(p["spec"]["nodeName"])
    return {k: sorted(v) for k, v in out.items()}


def twin_placement(sim: SimulatedCluster) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in sim.pods():
        if p.workload.startswith(f"{NS}/"):
            out.setdefault(p.workload, []).append(p.node or "-")
    return {k: sorted(v) for k, v in out.items()}


def twin_of(plane: ControlPlane, folder: Path) -> ClusterSpec:
    """The twin as the agent builds it from a live cluster (the Kubernetes backend's lists)."""
    config = folder / "config.toml"
    config.write_text('[cluster]\nbackend = "kubernetes"\n[cluster.kubernetes]\n'
                      f'kubeconfig = "{plane.admin_kubeconfig}"\n')
    return build(gather(load_config(config)))


@dataclass(frozen=True)
class Timed:
    """A real fault's timings, seconds from its start."""

    not_ready_s: float | None
    evicted_s: float | None
    recovered_s: float
    stuck: int = 0
    """Pods of the ``stuck`` workload still Pending when the others were back."""


def _until(probe: Callable[[], bool], start: float, timeout_s: float, what: str) -> float:
    wait_until(lambda: probe() or None, timeout_s=timeout_s, what=what, interval_s=0.1)
    return time.monotonic() - start


def real_pod_kill(api: RestClient, app: str, replicas: int) -> Timed:
    (victim, *_) = sorted(ready_pods(api, NS, app), key=lambda p: p["metadata"]["name"])
    start = time.monotonic()
    api.delete(f"/api/v1/namespaces/{NS}/pods/{victim['metadata']['name']}", grace_period_s=0)
    recovered = _until(lambda: len(ready_pods(api, NS, app)) >= replicas and all(
        p["metadata"]["uid"] != victim["metadata"]["uid"] for p in ready_pods(api, NS, app)), start, 120,
        f"{app} back at {replicas} ready pods")
    return Timed(None, None, recovered)


def real_node_failure(plane: ControlPlane, node: str, apps: Sequence[tuple[str, int]], stuck: str) -> Timed:
    """Stop ``node``'s kubelet until the pods it ran are evicted and ``apps`` are back; then start it again."""
    api = plane.admin
    on_node = [p for p in api.list(f"/api/v1/namespaces/{NS}/pods") if p["spec"].get("nodeName") == node]
    start = time.monotonic()
    plane.stop_node(node)
    try:
        not_ready = _until(lambda: not plane.node_ready(node) and not any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in api.get(f"/api/v1/nodes/{node}")["status"].get("conditions") or []), start, 120,
            f"{node} NotReady")
        uids = {p["metadata"]["uid"] for p in on_node}
        evicted = _until(lambda: not any(p["metadata"]["uid"] in uids and not p["metadata"].get("deletionTimestamp")
                                         for p in api.list(f"/api/v1/namespaces/{NS}/pods")), start, 180,
                         f"the pods on {node} evicted")
        recovered = _until(lambda: all(len(ready_pods(api, NS, app)) >= n for app, n in apps), start, 180,
                           "every workload back at its replicas")
        time.sleep(5)  # the scheduler has had its chances at the stuck workload's replacement
        left = pending(api, stuck)
    finally:
        plane.start_node(node)
    return Timed(not_ready, evicted, recovered, left)


def twin_fault(spec: ClusterSpec, fault: Fault, apps: Sequence[str], stuck: str = "", step_s: float = 0.1,
               limit_s: float = 900) -> Timed:
    """The same fault in the twin, timed as the real one: until ``apps`` are back at their replicas."""
    sim = SimulatedCluster(spec, seed=0)
    sim.inject(fault, injection_id="f")
    start = sim.now()
    not_ready = evicted = None
    node_key = fault.target if fault.kind is FaultKind.NODE_FAILURE else None
    on_node = {p.name for p in sim.pods() if node_key and p.node == node_key.split("/", 1)[1]}
    while sim.now() - start < limit_s:
        sim.wait(step_s)
        state = sim.snapshot()
        if node_key and not_ready is None and not state.nodes[node_key].ready:
            not_ready = sim.now() - start
        if node_key and evicted is None and not_ready is not None and not (on_node & {p.name for p in sim.pods()
                                                                                       if p.phase != "Terminating"}):
            evicted = sim.now() - start
        if all(state.workloads[f"{NS}/Deployment/{a}"].ready >= state.workloads[f"{NS}/Deployment/{a}"].desired
               for a in apps) and (not node_key or evicted is not None):
            recovered = sim.now() - start
            sim.wait(5)
            return Timed(not_ready, evicted, recovered, pending(sim, stuck) if stuck else 0)
    raise AssertionError(f"the twin did not recover from {fault.describe()} within {limit_s} s")


def error(twin: float | None, real: float | None) -> float | None:
    return None if twin is None or real is None or real == 0 else (twin - real) / real


def pending(sim_or_api: object, app: str) -> int:
    """Pods of ``app`` not bound to a node (the real API's or the twin's)."""
    if isinstance(sim_or_api, SimulatedCluster):
        return sum(1 for p in sim_or_api.pods() if p.workload == f"{NS}/Deployment/{app}" and p.node is None)
    api: RestClient = sim_or_api  # type: ignore[assignment]
    return sum(1 for p in api.list(f"/api/v1/namespaces/{NS}/pods", labelSelector=f"app={app}")
               if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp"))


def zones(placement: dict[str, list[str]], spec: ClusterSpec) -> dict[str, Counter[str]]:
    zone = {n.name: n.zone for n in spec.nodes}
    return {k: Counter(zone.get(n, "-") for n in v) for k, v in placement.items()}
