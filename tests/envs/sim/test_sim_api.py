"""The simulator satisfies the env's protocols, shares compiled specs, and is fast enough to train on."""

from __future__ import annotations

import time

import pytest
from sim_specs import NS, rich_spec, web_spec

from envs.cluster import ClusterBackend, SteadyStateSource
from envs.faults import CATALOG, Fault, FaultKind
from envs.sim import SimulatedCluster, compile_spec


def test_implements_the_backend_and_steady_state_protocols() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    backend: ClusterBackend = sim
    source: SteadyStateSource = sim
    assert backend.now() == 0.0 and source.instant().time_s == 0.0
    backend.wait(15)
    assert backend.snapshot().time_s == 15.0 and source.instant().time_s == 15.0


def test_compiled_spec_is_shared_and_initial_state_identical() -> None:
    spec = rich_spec()
    assert compile_spec(spec) is compile_spec(spec)
    a = SimulatedCluster(spec, seed=1)
    b = SimulatedCluster(spec, seed=1)
    assert a.c is b.c
    assert [(p.name, p.node) for p in a.pods()] == [(p.name, p.node) for p in b.pods()]
    assert a.instant() == b.instant()


def test_pod_views_describe_every_pod() -> None:
    sim = SimulatedCluster(rich_spec(), seed=0)
    views = sim.pods()
    assert len(views) == sum(w.replicas for w in sim.spec.workloads)
    train = [v for v in views if v.workload == f"{NS}/Job/train"]
    assert train[0].node == "gpu-0" and len(train[0].gpus) == 2
    assert all(v.phase == "Running" and v.ready and v.restarts == 0 for v in views)


@pytest.mark.slow
def test_injection_episodes_per_second() -> None:
    spec = web_spec(3, pdb_min=2, anti=True)
    kinds = [k for k, t in CATALOG.items() if t.target == "workload" and t.family in ("pod", "network")]
    n = 300
    start = time.process_time()
    for e in range(n):
        sim = SimulatedCluster(spec, seed=e)
        inj = sim.inject(Fault(kinds[e % len(kinds)], e % 3, f"{NS}/Deployment/web"), injection_id="x")
        for _ in range(8):
            sim.wait(15)
            sim.instant()
        sim.revert(inj)
        for _ in range(20):
            sim.wait(15)
            sim.instant()
    rate = n / (time.process_time() - start)
    assert rate > 500, f"{rate:.0f} episodes/s"
    assert FaultKind.POD_KILL in kinds
