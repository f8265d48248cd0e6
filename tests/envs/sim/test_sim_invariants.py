"""Random fault sequences keep the simulator's books straight and always heal once reverted."""

from __future__ import annotations

import numpy as np
import pytest
from sim_specs import NS, busy_spec, rich_spec

from envs.faults import CATALOG, FAULT_KINDS, Fault
from envs.sim import SimulatedCluster
from envs.sim.state import PENDING, TERMINATING


def check_books(sim: SimulatedCluster) -> None:
    spec = sim.spec
    seen: set[int] = set()
    for n in sim.nodes:
        cpu = sum(spec.workloads[p.w].template.cpu_millis for p in n.pods)
        mem = sum(spec.workloads[p.w].template.memory_mib for p in n.pods)
        assert (n.used_cpu, n.used_mem) == (cpu, mem), n.name
        assert n.used_cpu <= n.cpu and n.used_mem <= n.mem
        for d, owner in enumerate(n.gpu_owner):
            if owner is not None:
                assert owner in n.pods and d in owner.gpus
        for p in n.pods:
            assert p.node is n and id(p) not in seen
            seen.add(id(p))
    for ws in sim.wls:
        for p in ws.pods:
            assert p.phase != TERMINATING
            assert (p.node is None) == (p.phase == PENDING)
            assert not (p.ready and p.node is None)
        if ws.spec.kind == "StatefulSet":
            ordinals = [p.ordinal for p in ws.pods] + [p.ordinal for p in ws.terminating]
            assert len(ordinals) == len(set(ordinals)), "two pods with one StatefulSet identity"
    assert all(p.node is None for p in sim.pending)
    s = sim.instant()
    assert all(0.0 <= a <= 1.0 for a in s.availability.values())
    assert all(v >= 0 for v in s.latency_p99_ms.values())


def random_fault(rng: np.random.Generator, sim: SimulatedCluster) -> Fault:
    kind = FAULT_KINDS[int(rng.integers(len(FAULT_KINDS)))]
    if CATALOG[kind].target == "node":
        target = sim.spec.nodes[int(rng.integers(len(sim.spec.nodes)))].key
    else:
        target = sim.spec.workloads[int(rng.integers(len(sim.spec.workloads)))].key
    return Fault(kind, int(rng.integers(3)), target, duration_s=float(rng.choice([0.0, 60.0, 300.0])))


@pytest.mark.parametrize("seed", range(12))
def test_random_fault_sequences_keep_books_and_heal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sim = SimulatedCluster(rich_spec(), seed=seed)
    sim.wait(20)
    baseline = sim.instant()
    injections = []
    for i in range(12):
        injections.append(sim.inject(random_fault(rng, sim), injection_id=f"f{i}"))
        sim.wait(float(rng.uniform(0, 90)))
        check_books(sim)
        if rng.random() < 0.4:
            sim.revert(injections[int(rng.integers(len(injections)))])
            check_books(sim)
    for inj in injections:
        sim.revert(inj)
    assert sim.active == {}
    sim.wait(1500)
    check_books(sim)
    healed = sim.instant()
    assert healed.availability == baseline.availability
    assert healed.latency_p99_ms == pytest.approx(baseline.latency_p99_ms)
    assert healed.accuracy == baseline.accuracy and healed.bad_rows == baseline.bad_rows
    for key, status in sim.snapshot().workloads.items():
        if not key.startswith(f"{NS}/Job/"):
            assert status.ready == status.desired, key


@pytest.mark.parametrize("seed", range(8))
def test_random_faults_on_a_busy_cluster_keep_books(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sim = SimulatedCluster(busy_spec(), seed=seed)
    for i in range(15):
        inj = sim.inject(random_fault(rng, sim), injection_id=f"f{i}")
        sim.wait(float(rng.uniform(0, 120)))
        check_books(sim)
        sim.revert(inj)
    sim.wait(900)
    check_books(sim)
    assert sim.instant().availability[f"{NS}/Service/web"] > 0.99
