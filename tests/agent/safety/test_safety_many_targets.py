"""The mask over a thousand targets: right, and computed as the design says (per-target facts once per
topology and once per state, then broadcasting), which is what keeps it fast. How fast it is, is measured
by ``benchmarks/safety_mask.py`` (docs/benchmarks.md), not asserted here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config.safety import SafetySettings
from agent.safety import MemoryKillSwitch, SafetyGuard
from agent.safety import guard as guard_module
from envs.cluster import ClusterState, Injection
from envs.faults import Fault, FaultKind


def _counted(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls = [0]
    real: Callable[..., Any] = getattr(guard_module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(guard_module, name, counting)
    return calls


def test_a_thousand_targets(monkeypatch: pytest.MonkeyPatch) -> None:
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
    topologies, states = _counted(monkeypatch, "identities"), _counted(monkeypatch, "gather")
    active = [Injection("a", Fault(FaultKind.POD_KILL, 0, targets[1]), "applied")]
    first = guard.mask(state, targets, active)
    later = ClusterState(state.spec, {k: replace(w, ready=w.ready - 1) for k, w in state.workloads.items()},
                         state.nodes, 15.0)
    mask = guard.mask(later, targets, active)
    again = guard.mask(later, targets, active)
    assert mask.shape == (1000, 15, 3) and mask.any() and not mask[1].any()
    assert (again == mask).all() and (first != mask).any()  # a pod less ready everywhere changes the mask
    assert topologies == [1], "the topology's facts were gathered more than once"
    assert states == [2], "a state's facts were gathered more than once"
