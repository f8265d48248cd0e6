"""Pod lifecycle, controllers and pod faults: exact Kubernetes timings and replacement semantics."""

from __future__ import annotations

import pytest
from sim_specs import NS, WEB, WEB_SVC, deployment, nodes, selector, service, web_spec

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster, Timings
from envs.spec import ClusterSpec, PdbSpec, PodTemplate, Probe, Workload


def availability_trace(
    sim: SimulatedCluster, key: str, seconds: int, step: float = 1.0
) -> list[tuple[float, float]]:
    out = []
    for _ in range(int(seconds / step)):
        sim.wait(step)
        out.append((sim.now(), sim.instant().availability[key]))
    return out


def test_single_replica_pod_kill_is_an_outage_until_the_replacement_is_ready() -> None:
    startup, delay = 7.0, 4.0
    sim = SimulatedCluster(web_spec(1, startup_s=startup, probe=Probe(initial_delay_s=delay)), seed=1)
    sim.wait(30)
    assert sim.instant().availability[WEB_SVC] == 1.0
    t0 = sim.now()
    inj = sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1
    assert sim.instant().availability[WEB_SVC] == 0.0
    tm = Timings()
    ready_at = t0 + tm.controller_s + tm.scheduling_s + startup + delay
    for t, a in availability_trace(sim, WEB_SVC, 20, step=0.5):
        assert a == (1.0 if t >= ready_at - 1e-9 else 0.0), (t, a)
    (pod,) = sim.pods()
    assert pod.name not in inj.affected_pods and pod.ready and pod.phase == "Running"


def test_no_readiness_probe_means_ready_as_soon_as_the_container_runs() -> None:
    sim = SimulatedCluster(web_spec(1, startup_s=5.0, probe=None), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    sim.wait(6.99)
    assert sim.instant().availability[WEB_SVC] == 0.0
    sim.wait(0.02)
    assert sim.instant().availability[WEB_SVC] == 1.0


def test_three_replicas_with_pdb_and_anti_affinity_survive_a_pod_kill() -> None:
    sim = SimulatedCluster(web_spec(3, pdb_min=2, anti=True, n_nodes=3), seed=3)
    placed = sim.snapshot().workloads[WEB].pods_by_node
    assert placed == (("node-0", 1), ("node-1", 1), ("node-2", 1))
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    trace = availability_trace(sim, WEB_SVC, 60)
    assert min(a for _, a in trace) == 1.0
    assert sim.snapshot().workloads[WEB].pods_by_node == placed
    assert sim.snapshot().workloads[WEB].ready == 3


def test_required_anti_affinity_leaves_a_fourth_replica_pending() -> None:
    sim = SimulatedCluster(web_spec(4, anti=True, n_nodes=3), seed=0)
    status = sim.snapshot().workloads[WEB]
    assert status.pending == 1 and status.ready == 3


def test_eviction_is_refused_when_the_pdb_forbids_it_and_applied_when_it_allows() -> None:
    tight = SimulatedCluster(web_spec(2, pdb_min=2), seed=0)
    inj = tight.inject(Fault(FaultKind.POD_EVICTION, 0, WEB), injection_id="e")
    assert inj.outcome == "refused"
    assert f"{NS}/web-pdb" in inj.detail and inj.affected_pods == ()
    assert tight.snapshot().workloads[WEB].ready == 2
    tight.revert(inj)  # a no-op
    assert tight.snapshot().workloads[WEB].ready == 2

    loose = SimulatedCluster(web_spec(2, pdb_min=1), seed=0)
    inj = loose.inject(Fault(FaultKind.POD_EVICTION, 0, WEB), injection_id="e")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1
    assert loose.snapshot().workloads[WEB].ready == 1
    # all pods at once: the PDB lets the first go and refuses the second
    again = SimulatedCluster(web_spec(2, pdb_min=1), seed=0)
    inj = again.inject(Fault(FaultKind.POD_EVICTION, 2, WEB), injection_id="e")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1 and "web-pdb" in inj.detail


def test_max_unavailable_percentage_pdb_rounds_up() -> None:
    w = deployment("web", 4)
    pdb = PdbSpec(NS, "web-pdb", selector("web"), max_unavailable="25%")
    spec = ClusterSpec("p", nodes(2), (w,), (service("web", entry=True, load=10),), (pdb,))
    sim = SimulatedCluster(spec, seed=0)
    inj = sim.inject(Fault(FaultKind.POD_EVICTION, 1, WEB), injection_id="e")  # half: 2 pods
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1  # 25% of 4 = 1 disruption


def test_pod_kill_ignores_the_pdb() -> None:
    sim = SimulatedCluster(web_spec(2, pdb_min=2), seed=0)
    inj = sim.inject(Fault(FaultKind.POD_KILL, 2, WEB), injection_id="k")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 2
    assert sim.instant().availability[WEB_SVC] == 0.0


def test_container_crash_restarts_with_doubling_back_off() -> None:
    startup, delay = 2.0, 1.0
    sim = SimulatedCluster(web_spec(1, startup_s=startup, probe=Probe(initial_delay_s=delay)), seed=0)
    inj = sim.inject(Fault(FaultKind.CONTAINER_CRASH, 1, WEB), injection_id="c")  # 3 crashes in a row
    assert inj.outcome == "applied"
    # crash at 0; restart at 10, up at 12: crash; restart at 32, up at 34: crash; restart at 74
    expect = {9.9: (0, "CrashLoopBackOff"), 10.1: (1, "Running"), 12.1: (1, "CrashLoopBackOff"),
              31.9: (1, "CrashLoopBackOff"), 32.1: (2, "Running"), 73.9: (2, "CrashLoopBackOff"),
              74.1: (3, "Running")}
    for t, (restarts, phase) in expect.items():
        sim.wait(t - sim.now())
        (pod,) = sim.pods()
        assert (pod.restarts, pod.phase) == (restarts, phase), t
        assert sim.instant().availability[WEB_SVC] == 0.0
    ready_at = 74 + startup + delay
    sim.wait(ready_at - 0.05 - sim.now())
    assert sim.instant().availability[WEB_SVC] == 0.0
    sim.wait(0.1)
    assert sim.instant().availability[WEB_SVC] == 1.0
    assert sim.snapshot().workloads[WEB].restarts == 3


def test_container_crash_revert_stops_the_remaining_crashes() -> None:
    sim = SimulatedCluster(web_spec(1, startup_s=2.0, probe=None), seed=0)
    inj = sim.inject(Fault(FaultKind.CONTAINER_CRASH, 2, WEB), injection_id="c")  # 6 crashes
    sim.wait(1)
    sim.revert(inj)
    sim.wait(12.5)  # the running back-off still elapses (10 s), then it starts and stays up
    assert sim.instant().availability[WEB_SVC] == 1.0
    assert sim.pods()[0].restarts == 1


def _stateful(storage: bool) -> ClusterSpec:
    db = Workload(NS, "db", "StatefulSet", 3, PodTemplate(labels=(("app", "db"),)), role="cache",
                  persistent_storage=storage)
    return ClusterSpec("s", nodes(3), (db,), (service("db"),))


@pytest.mark.parametrize(("storage", "lost"), [(False, 1), (True, 0)])
def test_statefulset_pod_kill_loses_data_only_without_storage(storage: bool, lost: int) -> None:
    sim = SimulatedCluster(_stateful(storage), seed=0)
    key = f"{NS}/StatefulSet/db"
    assert sim.instant().data_lost[key] == 0
    inj = sim.inject(Fault(FaultKind.POD_KILL, 0, key), injection_id="k")
    sim.wait(30)
    assert sim.instant().data_lost[key] == lost
    # the pod comes back with the same ordinal
    assert sorted(p.name for p in sim.pods()) == ["db-0", "db-1", "db-2"]
    assert inj.affected_pods[0] in {"db-0", "db-1", "db-2"}


def test_leader_election_failover_when_the_leader_pod_dies() -> None:
    failover = 15.0
    w = Workload(NS, "web", "Deployment", 3, PodTemplate(labels=(("app", "web"),), startup_s=2.0),
                 leader_failover_s=failover)
    spec = ClusterSpec("l", nodes(3), (w,), (service("web", entry=True, load=10),))
    outages = []
    for seed in range(30):
        sim = SimulatedCluster(spec, seed=seed)
        sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
        down = [t for t, a in availability_trace(sim, WEB_SVC, 40, step=0.5) if a < 1.0]
        if down:
            assert max(down) == pytest.approx(failover - 0.5) and min(down) == 0.5
        outages.append(bool(down))
    assert 4 <= sum(outages) <= 17  # p = 1/3 over 30 seeds


def test_determinism_for_the_same_seed() -> None:
    def run(seed: int) -> list[object]:
        sim = SimulatedCluster(web_spec(3, pdb_min=1), seed=seed)
        out: list[object] = []
        for i, kind in enumerate([FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.CONTAINER_CRASH]):
            out.append(sim.inject(Fault(kind, 1, WEB), injection_id=str(i)).affected_pods)
            sim.wait(17)
            out.append(sim.instant())
            out.append([(p.name, p.node, p.ready) for p in sim.pods()])
        out.append(sim.metrics_text())
        return out

    assert run(5) == run(5)
    assert run(5) != run(6)
