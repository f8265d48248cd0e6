"""The agent's StatefulSet as installed by deploy/ and by the Helm chart runs on a real control plane:
its pods pass the restricted Pod Security Standard the namespace enforces, and each replica's claim for
its journal binds to a volume of the cluster's default StorageClass, and stays when the pods go.

The pods run without their HTTP probes: a hollow kubelet would probe the fake address every pod gets
(the control plane's admission policy refuses such pods, tests/servers/kubernetes.py). Nothing else of
the installed spec is changed. The agent itself runs outside (tests/e2e/installs.py).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.installs import INSTALLS, Install, Installs
from tests.e2e.live_agent import AGENT_NAMESPACE
from tests.servers.kubernetes import STORAGE_CLASS, ControlPlane
from tests.servers.kubernetes_api import Obj, wait_until

STATEFULSET = f"/apis/apps/v1/namespaces/{AGENT_NAMESPACE}/statefulsets/chaos-agent"
SELECTOR = "app.kubernetes.io/name=chaos-agent,app.kubernetes.io/component=agent"


def _pods(plane: ControlPlane) -> list[Obj]:
    return plane.admin.list(f"/api/v1/namespaces/{AGENT_NAMESPACE}/pods", labelSelector=SELECTOR)


def _claims(plane: ControlPlane) -> dict[str, Obj]:
    return {c["metadata"]["name"]: c for c in plane.admin.list(f"/api/v1/namespaces/{AGENT_NAMESPACE}"
                                                                "/persistentvolumeclaims")}


def _bound(plane: ControlPlane, count: int) -> dict[str, Obj] | None:
    claims = _claims(plane)
    return claims if len(claims) == count and all(c["status"].get("phase") == "Bound" for c in claims.values()) \
        else None


def _running(plane: ControlPlane, count: int) -> list[Obj] | None:
    pods = [p for p in _pods(plane) if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]
    return pods if len(pods) == count else None


@pytest.mark.parametrize("install", INSTALLS, ids=[i.id for i in INSTALLS])
def test_the_statefulset_runs_restricted_and_binds_each_replicas_claim(
        control_plane: ControlPlane, installs: Installs, install: Install) -> None:
    installs.ensure(install)
    api = control_plane.admin
    labels = api.get(f"/api/v1/namespaces/{AGENT_NAMESPACE}")["metadata"].get("labels") or {}
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels
    containers = api.get(STATEFULSET)["spec"]["template"]["spec"]["containers"]
    (agent,) = [i for i, c in enumerate(containers) if c["name"] == "agent"]
    probes = [p for p in ("livenessProbe", "readinessProbe", "startupProbe") if p in containers[agent]]
    api.patch(STATEFULSET, [{"op": "remove", "path": f"/spec/template/spec/containers/{agent}/{p}"} for p in probes]
              + [{"op": "replace", "path": "/spec/replicas", "value": 2}], patch_type="json")
    try:
        pods = wait_until(lambda: _running(control_plane, 2), timeout_s=120, what="2 agent pods Running",
                          detail=lambda: json.dumps([e.get("message") for e in api.list(
                              f"/api/v1/namespaces/{AGENT_NAMESPACE}/events")][-10:], indent=1))
        assert sorted(p["metadata"]["name"] for p in pods) == ["chaos-agent-0", "chaos-agent-1"]
        claims = wait_until(lambda: _bound(control_plane, 2), timeout_s=60, what="both claims Bound")
        assert sorted(claims) == ["state-chaos-agent-0", "state-chaos-agent-1"]
        for claim in claims.values():
            assert claim["spec"]["storageClassName"] == STORAGE_CLASS  # the default class, given at admission
            assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
        volumes = {c["spec"]["volumeName"] for c in claims.values()}
        assert len(volumes) == 2
    finally:
        api.patch(STATEFULSET, {"spec": {"replicas": 0}})
    wait_until(lambda: not _pods(control_plane), timeout_s=120, what="the agent pods to go")
    kept = _claims(control_plane)
    assert {n: c["spec"]["volumeName"] for n, c in kept.items()} == {
        n: c["spec"]["volumeName"] for n, c in claims.items()}, "whenScaled: Retain keeps each replica's journal"
