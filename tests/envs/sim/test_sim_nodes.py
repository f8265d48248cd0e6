"""Node lifecycle, drain and the scheduler's filters."""

from __future__ import annotations

from sim_specs import NS, WEB, WEB_SVC, nodes, service, web_spec

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster, Timings
from envs.spec import GPU_RESOURCE, ClusterSpec, NodeSpec, PodTemplate, Taint, Toleration, Workload

assert GPU_RESOURCE  # the resource name the GPU count stands for


def _node_of(sim: SimulatedCluster, key: str) -> str:
    ((node, _),) = sim.snapshot().workloads[key].pods_by_node
    return node


def test_node_failure_not_ready_after_grace_then_eviction_and_reschedule() -> None:
    tm = Timings()
    sim = SimulatedCluster(web_spec(1, startup_s=5.0), seed=0)
    node = _node_of(sim, WEB)
    inj = sim.inject(Fault(FaultKind.NODE_FAILURE, 2, f"Node/{node}", duration_s=1000), injection_id="n")
    assert inj.outcome == "applied"
    assert sim.instant().availability[WEB_SVC] == 0.0  # the pod stops serving at once
    sim.wait(tm.node_monitor_grace_s - 0.1)
    assert sim.snapshot().nodes[f"Node/{node}"].ready
    assert sim.snapshot().workloads[WEB].ready == 1  # the API still believes it
    sim.wait(0.2)
    assert not sim.snapshot().nodes[f"Node/{node}"].ready
    assert sim.snapshot().workloads[WEB].ready == 0
    sim.wait(tm.toleration_s - 0.2)
    assert _node_of(sim, WEB) == node  # not evicted yet
    sim.wait(0.2)
    evicted_at = sim.now()
    sim.wait(tm.controller_s + tm.scheduling_s + 0.05)
    assert _node_of(sim, WEB) != node
    sim.wait(5.0 + 3.0)
    assert sim.instant().availability[WEB_SVC] == 1.0
    assert evicted_at - 0.1 < tm.node_monitor_grace_s + tm.toleration_s + 0.2


def test_node_back_before_eviction_keeps_its_pods() -> None:
    sim = SimulatedCluster(web_spec(1, startup_s=5.0), seed=0)
    node = _node_of(sim, WEB)
    name = sim.pods()[0].name
    sim.inject(Fault(FaultKind.NODE_FAILURE, 1, f"Node/{node}", duration_s=1000), injection_id="n")  # 180 s
    sim.wait(179)
    assert sim.instant().availability[WEB_SVC] == 0.0
    sim.wait(2 + 5 + 3)  # back at 180, container restarts (5 s), probe after 3 s
    (pod,) = sim.pods()
    assert (pod.name, pod.node, pod.ready) == (name, node, True)
    assert pod.restarts == 1
    assert sim.instant().availability[WEB_SVC] == 1.0


def test_node_failure_revert_brings_the_node_back_early() -> None:
    sim = SimulatedCluster(web_spec(1, startup_s=5.0, probe=None), seed=0)
    node = _node_of(sim, WEB)
    inj = sim.inject(Fault(FaultKind.NODE_FAILURE, 2, f"Node/{node}"), injection_id="n")
    sim.wait(20)
    sim.revert(inj)
    sim.wait(5.01)
    assert sim.instant().availability[WEB_SVC] == 1.0
    sim.revert(inj)  # idempotent


def test_drain_cordons_evicts_through_pdb_and_revert_uncordons() -> None:
    sim = SimulatedCluster(web_spec(3, pdb_min=2, n_nodes=2, startup_s=5.0), seed=0)
    placed = dict(sim.snapshot().workloads[WEB].pods_by_node)
    busy = max(placed, key=lambda n: placed[n])
    assert placed[busy] == 2
    inj = sim.inject(Fault(FaultKind.NODE_DRAIN, 0, f"Node/{busy}", duration_s=600), injection_id="d")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1 and "web-pdb" in inj.detail
    assert not sim.snapshot().nodes[f"Node/{busy}"].schedulable
    sim.wait(60)  # the replacement became ready elsewhere, so the retried eviction went through
    assert dict(sim.snapshot().workloads[WEB].pods_by_node).get(busy, 0) == 0
    assert sim.snapshot().workloads[WEB].ready == 3
    sim.revert(inj)
    assert sim.snapshot().nodes[f"Node/{busy}"].schedulable


def test_drain_high_bypasses_the_pdb() -> None:
    sim = SimulatedCluster(web_spec(2, pdb_min=2, n_nodes=1), seed=0)
    inj = sim.inject(Fault(FaultKind.NODE_DRAIN, 2, "Node/node-0"), injection_id="d")
    assert len(inj.affected_pods) == 2
    assert sim.instant().availability[WEB_SVC] == 0.0
    sim.wait(60)
    assert sim.snapshot().workloads[WEB].pending == 2  # the only node is cordoned


def _placement_spec() -> ClusterSpec:
    ns = (
        NodeSpec("cpu-a", labels=(("pool", "general"),)),
        NodeSpec("gpu-a", gpus=2, labels=(("pool", "gpu"),), taints=(Taint("nvidia.com/gpu", "NoSchedule"),)),
        NodeSpec("edge", labels=(("pool", "edge"),), taints=(Taint("dedicated", "NoSchedule", "edge"),)),
    )
    wl = (
        Workload(NS, "api", "Deployment", 2, PodTemplate(labels=(("app", "api"),))),
        Workload(NS, "edge", "Deployment", 1, PodTemplate(
            labels=(("app", "edge"),), node_selector=(("pool", "edge"),),
            tolerations=(Toleration("dedicated", "Equal", "edge", "NoSchedule"),))),
        Workload(NS, "edge-untolerated", "Deployment", 1, PodTemplate(
            labels=(("app", "edge2"),), node_selector=(("pool", "edge"),))),
        Workload(NS, "train", "Job", 1, PodTemplate(
            labels=(("app", "train"),), gpus=2, tolerations=(Toleration("nvidia.com/gpu", "Exists"),))),
        Workload(NS, "train2", "Job", 1, PodTemplate(
            labels=(("app", "train2"),), gpus=1, tolerations=(Toleration("nvidia.com/gpu", "Exists"),))),
    )
    return ClusterSpec("placement", ns, wl)


def test_scheduler_honours_selectors_taints_tolerations_and_gpus() -> None:
    sim = SimulatedCluster(_placement_spec(), seed=0)
    snap = sim.snapshot().workloads
    assert snap[f"{NS}/Deployment/api"].pods_by_node == (("cpu-a", 2),)  # tainted nodes repel it
    assert snap[f"{NS}/Deployment/edge"].pods_by_node == (("edge", 1),)
    assert snap[f"{NS}/Deployment/edge-untolerated"].pending == 1
    assert snap[f"{NS}/Job/train"].pods_by_node == (("gpu-a", 1),)
    assert snap[f"{NS}/Job/train2"].pending == 1  # both GPUs taken
    train_pod = next(p for p in sim.pods() if p.workload == f"{NS}/Job/train")
    assert train_pod.gpus == (0, 1)


def test_pending_pod_is_scheduled_when_capacity_frees() -> None:
    sim = SimulatedCluster(_placement_spec(), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Job/train"), injection_id="k")
    sim.wait(3)
    snap = sim.snapshot().workloads
    # the freed GPUs went to whichever pod the scheduler saw first; exactly one job is pending
    assert snap[f"{NS}/Job/train"].pending + snap[f"{NS}/Job/train2"].pending == 1


def test_pods_tolerating_unreachable_are_not_evicted() -> None:
    tol = Toleration("node.kubernetes.io/unreachable", "Exists", effect="NoExecute")
    w = Workload(NS, "web", "Deployment", 1, PodTemplate(labels=(("app", "web"),), tolerations=(tol,)))
    sim = SimulatedCluster(ClusterSpec("t", nodes(2), (w,), (service("web", entry=True, load=5),)), seed=0)
    node = _node_of(sim, WEB)
    sim.inject(Fault(FaultKind.NODE_FAILURE, 2, f"Node/{node}", duration_s=900), injection_id="n")
    sim.wait(590)
    assert _node_of(sim, WEB) == node


def test_statefulset_pod_on_a_failed_node_is_not_replaced_until_the_node_returns() -> None:
    db = Workload(NS, "db", "StatefulSet", 1, PodTemplate(labels=(("app", "db"),), startup_s=5.0),
                  role="cache", persistent_storage=True)
    web = Workload(NS, "web", "Deployment", 1, PodTemplate(labels=(("app", "web"),), startup_s=5.0))
    spec = ClusterSpec("s", (*nodes(1), NodeSpec("spare")), (db, web),
                       (service("db"), service("web", entry=True, load=5)))
    sim = SimulatedCluster(spec, seed=0)
    key = f"{NS}/StatefulSet/db"
    node = _node_of(sim, key)
    sim.inject(Fault(FaultKind.NODE_FAILURE, 2, f"Node/{node}", duration_s=900), injection_id="n")  # 600 s
    sim.wait(40 + 300 + 30)
    phases = {p.name: (p.phase, p.node) for p in sim.pods()}
    assert phases["db-0"] == ("Terminating", node)  # stuck: the kubelet cannot confirm the exit
    assert sim.snapshot().workloads[key].ready == 0
    if _node_of(sim, WEB) == node:
        raise AssertionError("the Deployment pod should have been replaced elsewhere")
    sim.wait(600 - 370 + 1 + 1 + 5 + 0.5)  # node back at 600: the old pod goes, db-0 comes back
    assert sim.snapshot().workloads[key].ready == 1


def test_evicted_statefulset_pod_is_recreated_after_its_grace_period() -> None:
    db = Workload(NS, "db", "StatefulSet", 2, PodTemplate(labels=(("app", "db"),), startup_s=5.0,
                                                          termination_grace_s=20.0), role="cache")
    sim = SimulatedCluster(ClusterSpec("s", nodes(2), (db,), (service("db"),)), seed=0)
    key = f"{NS}/StatefulSet/db"
    inj = sim.inject(Fault(FaultKind.POD_EVICTION, 0, key), injection_id="e")
    (name,) = inj.affected_pods
    sim.wait(19.5)
    assert [p.phase for p in sim.pods() if p.name == name] == ["Terminating"]
    sim.wait(0.5 + 1 + 1 + 5 + 0.1)  # exited at 20, controller 1 s, scheduler 1 s, startup 5 s
    assert sim.snapshot().workloads[key].ready == 2
    assert sim.instant().data_lost[key] == 1
