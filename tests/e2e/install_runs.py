"""One run per install (Kustomize cluster-wide, Helm confined), made when a test first asks for it, so
the installs switch as seldom as the test order allows (tests may come in any order).

A run, with the install in place: the installed StatefulSet's pods once (``StatefulSetRun``), then the
daemon with the installed ServiceAccount's token in live mode, round robin over every fault kind but
node_failure (whose outage lasts its magnitude, 60 to 600 s: test_live_node_failure has it), on the
pipelines' feature store, GPU model server and its GPU node, until every kind was applied and reverted
(round robin takes every intensity and target of a kind before the next kind): pods killed, evicted
and crashed, the GPU node drained and its devices failed, Chaos Mesh NetworkChaos and StressChaos objects,
ConfigMaps of data faults. The API server's audit log records every call the daemon made as its
ServiceAccount, and the RBAC the install granted is read while it is in place.

The StatefulSet's pods run without their HTTP probes: a hollow kubelet would probe the fake address every
pod gets (the control plane's admission policy refuses such pods, tests/servers/kubernetes.py). Nothing
else of the installed spec is changed, and the StatefulSet goes back to 0 replicas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from envs.faults import FaultKind
from tests.agent.daemon.harness import AgentProcess, free_port, http_get
from tests.e2e.installs import Install, Installs
from tests.e2e.live_agent import (
    AGENT_NAMESPACE,
    AGENT_USER,
    Injection,
    InstalledAgent,
    agent_config,
    injections,
    leftovers,
)
from tests.e2e.rbac import Permission, granted
from tests.e2e.workloads import PIPELINES
from tests.servers.kubernetes import ControlPlane
from tests.servers.kubernetes_api import Obj, wait_until

KINDS = tuple(k for k in FaultKind if k is not FaultKind.NODE_FAILURE)
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{AGENT_NAMESPACE}/leases/chaos-agent-leader"
STATEFULSET = f"/apis/apps/v1/namespaces/{AGENT_NAMESPACE}/statefulsets/chaos-agent"
SELECTOR = "app.kubernetes.io/name=chaos-agent,app.kubernetes.io/component=agent"
GPU_NODE = "gpu-a"
"""The model server's node: the one node the run's node faults (drain, GPU device failure) may take."""


@dataclass(frozen=True)
class StatefulSetRun:
    """The installed StatefulSet scaled to 2 and back to 0."""

    namespace_labels: dict[str, str]
    pods: list[str]
    """The pods that ran."""
    claims: dict[str, Obj]
    """Their claims (by name) once both were Bound."""
    kept: dict[str, str]
    """Each claim's volume once the pods were gone."""
    failure: str = ""


@dataclass(frozen=True)
class InstallRun:
    statefulset: StatefulSetRun
    username: str
    """Who the API server says the installed token is (a SelfSubjectReview)."""
    permissions: set[Permission]
    """What the install granted the ServiceAccount, read while it was installed."""
    injections: list[Injection]
    events: list[dict[str, Any]]
    exit_code: int
    leftovers: list[str]
    metrics: str
    logs: str


def _done(journal: Path) -> set[str]:
    """The kinds applied and reverted so far."""
    return {i.kind for i in injections(journal) if i.outcome == "applied" and i.reverted is not None}


def _pods(plane: ControlPlane) -> list[Obj]:
    return plane.admin.list(f"/api/v1/namespaces/{AGENT_NAMESPACE}/pods", labelSelector=SELECTOR)


def _claims(plane: ControlPlane) -> dict[str, Obj]:
    return {c["metadata"]["name"]: c
            for c in plane.admin.list(f"/api/v1/namespaces/{AGENT_NAMESPACE}/persistentvolumeclaims")}


def _bound(plane: ControlPlane, count: int) -> dict[str, Obj] | None:
    claims = _claims(plane)
    ok = len(claims) == count and all(c["status"].get("phase") == "Bound" for c in claims.values())
    return claims if ok else None


def _running(plane: ControlPlane, count: int) -> list[Obj] | None:
    pods = [p for p in _pods(plane) if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]
    return pods if len(pods) == count else None


def run_statefulset(plane: ControlPlane) -> StatefulSetRun:
    api = plane.admin
    labels = api.get(f"/api/v1/namespaces/{AGENT_NAMESPACE}")["metadata"].get("labels") or {}
    containers = api.get(STATEFULSET)["spec"]["template"]["spec"]["containers"]
    (agent,) = [i for i, c in enumerate(containers) if c["name"] == "agent"]
    probes = [p for p in ("livenessProbe", "readinessProbe", "startupProbe") if p in containers[agent]]
    api.patch(STATEFULSET, [{"op": "remove", "path": f"/spec/template/spec/containers/{agent}/{p}"} for p in probes]
              + [{"op": "replace", "path": "/spec/replicas", "value": 2}], patch_type="json")
    pods: list[Obj] = []
    claims: dict[str, Obj] = {}
    failure = ""
    try:
        pods = wait_until(lambda: _running(plane, 2), timeout_s=120, what="2 agent pods Running",
                          detail=lambda: json.dumps([e.get("message") for e in api.list(
                              f"/api/v1/namespaces/{AGENT_NAMESPACE}/events")][-10:], indent=1))
        claims = wait_until(lambda: _bound(plane, 2), timeout_s=60, what="both claims Bound")
    except TimeoutError as e:
        failure = str(e)
    finally:
        api.patch(STATEFULSET, {"spec": {"replicas": 0}})
    wait_until(lambda: not _pods(plane), timeout_s=120, what="the agent pods to go")
    kept = {n: str(c["spec"].get("volumeName")) for n, c in _claims(plane).items()}
    return StatefulSetRun(labels, sorted(p["metadata"]["name"] for p in pods), claims, kept, failure)


class InstallRuns:
    def __init__(self, plane: ControlPlane, installs: Installs, gpus: dict[str, str], folder: Path) -> None:
        self.plane, self.installs, self.gpus, self.folder = plane, installs, gpus, folder
        self.done: dict[Install, InstallRun] = {}
        self.failed: dict[Install, str] = {}

    def get(self, install: Install) -> InstallRun:
        """The install's run; a run that failed fails each later test that asks, without running again."""
        if install in self.failed:
            pytest.fail(f"the {install.id} run failed in an earlier test: {self.failed[install]}", pytrace=False)
        if install not in self.done:
            try:
                installed = self.installs.ensure(install)
                statefulset = run_statefulset(self.plane)
                self.done[install] = self._run(install, installed, statefulset)
            except Exception as e:
                self.failed[install] = f"{type(e).__name__}: {str(e)[:2000]}"
                raise
        return self.done[install]

    def _run(self, install: Install, installed: InstalledAgent, statefulset: StatefulSetRun) -> InstallRun:
        plane = self.plane
        assert leftovers(plane.admin, gpus=self.gpus) == [], "an earlier test left a fault"
        plane.admin.delete(LEASE)  # so that this run creates the Lease, as a first install does
        review = installed.api.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                      {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        folder = self.folder / install.id
        port = free_port()
        config = agent_config(folder, installed=installed, port=port, fault_duration_s=0.3,
                              recovery_s=0.1, exclude_faults=[k.value for k in FaultKind if k not in KINDS],
                              include_namespaces=[PIPELINES],
                              # the node faults on the model server's GPU node only: its drain evicts the
                              # embedder's pods too, whose budget refuses (429; the retry reads the pod).
                              # A node is in scope only when every workload on it is, so the embedder is
                              # a target too
                              exclude_targets=[f"{PIPELINES}/Deployment/ingest", f"{PIPELINES}/Job/train",
                                               *(f"Node/{n}" for n in plane.nodes if n != GPU_NODE)],
                              # the defaults would mask what takes every pod of a workload (GPU memory
                              # pressure, a drain of the one GPU node): this run is about the calls of
                              # every fault path; the guard's limits are tested in tests/agent/safety
                              protect_last_replica=False, max_unavailable_share=1.0, respect_pdb_for_kills=False)
        since = plane.audit_offset()
        agent = AgentProcess(config, name=f"agent-{install.id}", env={})
        agent.start()
        try:
            journal = folder / "audit.jsonl"
            wait_until(lambda: _done(journal) >= {k.value for k in KINDS} or not agent.alive(), timeout_s=300,
                       what="every kind applied and reverted", interval_s=0.5,
                       detail=lambda: f"so far {sorted(_done(journal))}\n{agent.logs()}")
            assert agent.alive(), agent.logs()
            _status, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
            code, _seconds = agent.terminate(timeout_s=60)
        finally:
            agent.stop()
        return InstallRun(statefulset, str(review["status"]["userInfo"]["username"]),
                          granted(plane.admin, AGENT_NAMESPACE, "chaos-agent"), injections(journal),
                          plane.audit_events(since, user=AGENT_USER), code, leftovers(plane.admin, gpus=self.gpus),
                          metrics, agent.logs())
