"""The mask must keep up with a policy deciding over thousands of targets."""

from __future__ import annotations

import time
from dataclasses import replace

from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config.safety import SafetySettings
from agent.safety import MemoryKillSwitch, SafetyGuard
from envs.cluster import ClusterState, Injection
from envs.faults import Fault, FaultKind


def best_of(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def test_a_thousand_targets() -> None:
    nodes = [(f"n{i}", 2 if i % 10 == 0 else 0) for i in range(200)]
    namespaces = ["shop", "ml", "data", "kube-system"]
    workloads = [W(namespaces[i % 4], f"w{i}", 3, on=((f"n{i % 200}", 2), (f"n{(i + 7) % 200}", 1)),
                   gpus=int(i % 10 == 0), pipeline=i % 5 == 0, min_available=2 if i % 3 == 0 else None)
                 for i in range(800)]
    state = cluster(workloads, nodes)
    targets = targets_of(state)
    assert len(targets) == 1000
    guard = SafetyGuard(SafetySettings(max_concurrent_faults=2), agent_namespace=AGENT_NS,
                        kill_switch=MemoryKillSwitch())
    active = [Injection("a", Fault(FaultKind.POD_KILL, 0, targets[1]), "applied")]
    first = best_of(1, lambda: guard.mask(state, targets, active))  # a new topology
    later = ClusterState(state.spec, {k: replace(w, ready=w.ready - 1) for k, w in state.workloads.items()},
                         state.nodes, 15.0)
    next_state = best_of(1, lambda: guard.mask(later, targets, active))
    again = best_of(20, lambda: guard.mask(later, targets, active))
    mask = guard.mask(later, targets, active)
    assert mask.shape == (1000, 15, 3) and mask.any() and not mask[1].any()
    # Per-target facts once per state (generous for a loaded 2-core machine), then pure broadcasting.
    print(f"topology {first * 1000:.2f} ms, state {next_state * 1000:.2f} ms, again {again * 1000:.3f} ms")
    assert first < 1.0, f"first mask of a new topology took {first * 1000:.1f} ms"
    assert next_state < 0.25, f"first mask of a new state took {next_state * 1000:.1f} ms"
    assert again < 0.001, f"mask on a known state took {again * 1000:.3f} ms"
