"""Data loss in what a user loses: a datastore's data dies with its pod or container as its storage says,
for any workload kind, and replicas that copy each other lose data only with the last copy."""

from __future__ import annotations

import pytest
from sim_specs import NS, nodes, service

from envs.experiment import Timing, run_experiment
from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec, DataStorage, Datastore, PodTemplate, Workload, data_loss_signal


def store(storage: DataStorage, *, replicas: int = 1, kind: str = "Deployment", items: float | None = None,
          replicated: bool = False, usage: str = "store") -> ClusterSpec:
    ds = Datastore("redis", usage, storage, "cart keys", items, replicated)  # type: ignore[arg-type]
    w = Workload(NS, "redis-cart", kind, replicas, PodTemplate(labels=(("app", "redis-cart"),)),  # type: ignore[arg-type]
                 datastore=ds)
    return ClusterSpec("t", nodes(3), (w,), (service("redis-cart"),))


KEY = f"{NS}/Deployment/redis-cart"


def lost(sim: SimulatedCluster, key: str = KEY) -> float:
    return sim.instant().data_lost[key]


@pytest.mark.parametrize(("storage", "after_kill"), [("container", 1.0), ("node", 1.0), ("memory", 1.0),
                                                     ("persistent", 0.0)])
def test_a_deployment_store_loses_its_data_with_its_pod_unless_it_persists(storage: DataStorage,
                                                                           after_kill: float) -> None:
    sim = SimulatedCluster(store(storage), seed=0)
    assert lost(sim) == 0.0
    sim.inject(Fault(FaultKind.POD_KILL, 0, KEY), injection_id="k")
    sim.wait(30)
    assert lost(sim) == after_kill


def test_a_container_restart_loses_only_data_kept_in_the_container() -> None:
    for storage, expected in (("container", 1.0), ("node", 0.0)):
        sim = SimulatedCluster(store(storage), seed=0)  # type: ignore[arg-type]
        sim.inject(Fault(FaultKind.CONTAINER_CRASH, 0, KEY), injection_id="c")
        sim.wait(60)
        assert lost(sim) == expected, storage


def test_a_node_reboot_clears_memory_backed_data_but_not_disk() -> None:
    for storage, expected in (("memory", 1.0), ("node", 0.0)):
        sim = SimulatedCluster(store(storage), seed=0)  # type: ignore[arg-type]
        node = next(p.node for p in sim.pods())
        inj = sim.inject(Fault(FaultKind.NODE_FAILURE, 0, f"Node/{node}", duration_s=60), injection_id="n")
        sim.wait(70)
        sim.revert(inj)
        sim.wait(30)
        assert lost(sim) == expected, storage


def test_loss_is_counted_in_items_per_pod_when_the_size_is_known() -> None:
    sim = SimulatedCluster(store("node", replicas=3, items=30000), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, KEY), injection_id="k")
    assert lost(sim) == pytest.approx(10000)


def test_replicated_copies_lose_data_only_with_the_last_copy() -> None:
    sim = SimulatedCluster(store("node", replicas=3, replicated=True), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, KEY), injection_id="one")
    sim.wait(30)
    assert lost(sim) == 0.0  # the replacement resyncs when Ready
    sim.inject(Fault(FaultKind.POD_KILL, 2, KEY), injection_id="all")  # every pod at once
    assert lost(sim) == 1.0


def test_a_cache_never_counts_as_data_loss() -> None:
    sim = SimulatedCluster(store("container", usage="cache"), seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, KEY), injection_id="k")
    assert KEY not in sim.instant().data_lost


def test_the_verdict_names_the_loss_in_the_users_unit() -> None:
    spec = store("node")
    sim = SimulatedCluster(spec, seed=0)
    before = sim.sample()
    result = run_experiment(spec=spec, backend=sim, steady=sim, fault=Fault(FaultKind.POD_KILL, 0, KEY),
                            injection_id="k", timing=Timing(), before=before)
    (breach,) = [b for b in result.breaches if b.violation == "data_loss"]
    assert breach.signal == f"{KEY} share_of_cart_keys_lost" and breach.worst == 1.0
    known = store("node", items=500)
    assert data_loss_signal(known.workloads[0]) == "cart_keys_lost"


def test_the_legacy_statefulset_rule_still_holds_without_a_datastore_record() -> None:
    w = Workload(NS, "db", "StatefulSet", 2, PodTemplate(labels=(("app", "db"),)))
    spec = ClusterSpec("t", nodes(2), (w,), (service("db"),))
    sim = SimulatedCluster(spec, seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, w.key), injection_id="k")
    assert sim.instant().data_lost[w.key] == 1
