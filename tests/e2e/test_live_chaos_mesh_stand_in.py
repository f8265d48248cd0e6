"""The Chaos Mesh stand-in keeps Chaos Mesh's status protocol on the real CRDs (tests/e2e/chaos_mesh.py):
a finalizer, records per selected pod, conditions from the records, and a deletion that waits for
recovery. The agent's reading of that status is tested against it in test_live_daemon_faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.chaos_mesh import FINALIZER, ChaosMeshStandIn
from tests.e2e.workloads import apply_all, delete_namespace, deployment, namespace, wait_ready
from tests.servers.kubernetes import ControlPlane, conditions, wait_deleted
from tests.servers.kubernetes_api import wait_until


@pytest.fixture
def ns(control_plane: ControlPlane) -> Iterator[str]:
    name = f"cm-{uuid.uuid4().hex[:6]}"
    control_plane.admin.create("/api/v1/namespaces", namespace(name))
    yield name
    delete_namespace(control_plane.admin, name, wait=False)


def test_a_network_chaos_is_injected_then_recovered_before_it_disappears(
        control_plane: ControlPlane, chaos_mesh: ChaosMeshStandIn, ns: str) -> None:
    api = control_plane.admin
    apply_all(api, [deployment(ns, "web", 2)])
    wait_ready(api, ns, "web", 2)
    path = f"/apis/chaos-mesh.org/v1alpha1/namespaces/{ns}/networkchaos"
    api.create(path, {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos", "metadata": {"name": "lag"},
                      "spec": {"action": "delay", "mode": "all", "delay": {"latency": "100ms"},
                               "selector": {"namespaces": [ns], "labelSelectors": {"app": "web"}}}})
    injected = wait_until(lambda: (o if conditions(o := api.get(f"{path}/lag")).get("AllInjected") == "True" else None),
                          timeout_s=20, what="AllInjected")
    assert FINALIZER in injected["metadata"]["finalizers"]
    assert len(injected["status"]["experiment"]["containerRecords"]) == 2
    api.delete(f"{path}/lag")
    assert api.get(f"{path}/lag")["metadata"]["deletionTimestamp"]  # held by the finalizer meanwhile
    wait_deleted(api, f"{path}/lag", timeout_s=20)
    assert chaos_mesh.errors == []
