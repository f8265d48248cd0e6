"""An Event on the target of every applied injection and every revert, valid for the API server, and
never a reason for a fault to fail."""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.events import INJECTED, REVERTED
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded


def _events(seeded: Seeded, namespace: str) -> list[dict[str, Any]]:
    return sorted(seeded.emulator.list("Event", namespace), key=lambda e: e["reason"])


def test_a_workload_fault_is_told_on_the_workload(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.POD_KILL, 0, "shop/Deployment/web"), injection_id="k1")
    backend.revert(injection)
    injected, reverted = _events(seeded, "shop")
    assert (injected["reason"], injected["type"], reverted["reason"], reverted["type"]) == (
        INJECTED, "Warning", REVERTED, "Normal")
    assert injected["involvedObject"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "namespace": "shop", "uid": seeded.web["metadata"]["uid"]}
    assert injected["metadata"]["annotations"] == {"chaos-agent.io/injection-id": "k1"}
    assert "pod_kill[low" in injected["message"] and "(k1)" in injected["message"]
    for event in (injected, reverted):
        kubernetes_validate.validate(event, "1.32.0", strict=True)


def test_a_node_fault_is_told_in_namespace_default(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.NODE_FAILURE, 0, "Node/node-a"), injection_id="n1")
    (event,) = _events(seeded, "default")
    assert event["involvedObject"]["kind"] == "Node" and "namespace" not in event["involvedObject"]
    backend.revert(injection)
    assert [e["reason"] for e in _events(seeded, "default")] == [INJECTED, REVERTED]


def test_a_refused_event_never_fails_the_fault(seeded: Seeded, backend: KubernetesBackend) -> None:
    seeded.emulator.fail(r"^POST /api/v1/namespaces/[^/]+/events", 403, times=10)
    injection = backend.inject(Fault(FaultKind.NODE_FAILURE, 0, "Node/node-a"), injection_id="n2")
    assert injection.outcome == "applied"
    backend.revert(injection)
    assert seeded.emulator.list("Event") == []


def test_nothing_refused_or_failed_is_told(seeded: Seeded, backend: KubernetesBackend) -> None:
    refused = backend.inject(Fault(FaultKind.POD_EVICTION, 0, "shop/Deployment/web"), injection_id="e1")
    assert refused.outcome == "refused"  # web's PDB
    backend.revert(refused)
    assert seeded.emulator.list("Event") == []
