"""The daemon in live mode on the real control plane, with the ServiceAccount token and RBAC that
deploy/ installs: every fault family applied through the API server and reverted, nothing left
behind, no call forbidden, and no permission granted that no call needed.

One daemon run (``family_run``) serves the module (once per session): round robin over every fault kind but node_failure
(whose outage lasts its magnitude, 60 to 600 s; its calls are the node patches a drain makes too), on
the pipelines' feature store, GPU model server and its GPU node, until every kind was applied and reverted
(round robin takes every intensity and target of a kind before the next kind):
pods killed, evicted and crashed, the GPU node drained and its devices failed, Chaos Mesh
NetworkChaos and StressChaos objects, ConfigMaps of data faults. The API server's audit log records
every call the daemon made as its ServiceAccount, so the calls of every fault path are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from envs.faults import CATALOG, FaultKind
from tests.agent.daemon.harness import AgentProcess, free_port, http_get
from tests.e2e.live_agent import (
    AGENT_NAMESPACE,
    AGENT_USER,
    Injection,
    InstalledAgent,
    agent_config,
    forbidden_calls,
    injections,
    leftovers,
)
from tests.e2e.rbac import calls, granted, ungranted, unneeded
from tests.e2e.workloads import PIPELINES
from tests.servers.kubernetes import ControlPlane
from tests.servers.kubernetes_api import wait_until

pytestmark = pytest.mark.timeout(600)  # the first test carries the shared daemon run (~45 s)

KINDS = tuple(k for k in FaultKind if k is not FaultKind.NODE_FAILURE)
FAMILIES = {CATALOG[k].family for k in KINDS}
LEASE = "/apis/coordination.k8s.io/v1/namespaces/chaos-agent/leases/chaos-agent-leader"


@dataclass(frozen=True)
class FamilyRun:
    injections: list[Injection]
    events: list[dict[str, Any]]
    exit_code: int
    leftovers: list[str]
    metrics: str
    logs: str


def _done(journal: Path) -> set[str]:
    """The kinds applied and reverted so far."""
    return {i.kind for i in injections(journal) if i.outcome == "applied" and i.reverted is not None}


@pytest.fixture(scope="session")  # session: xdist may interleave this module's tests with others'
def family_run(control_plane: ControlPlane, installed_agent: InstalledAgent, platform_ready: dict[str, str],
               tmp_path_factory: pytest.TempPathFactory) -> FamilyRun:
    assert leftovers(control_plane.admin, gpus=platform_ready) == [], "an earlier test left a fault"
    control_plane.admin.delete(LEASE)  # so that this run creates the Lease, as a first install does
    folder = tmp_path_factory.mktemp("family-run")
    port = free_port()
    config = agent_config(folder, kubeconfig=installed_agent.kubeconfig, port=port, fault_duration_s=0.3,
                          recovery_s=0.1, exclude_faults=[k.value for k in FaultKind if k not in KINDS],
                          include_namespaces=[PIPELINES],
                          exclude_targets=[f"{PIPELINES}/Deployment/ingest", f"{PIPELINES}/Job/train",
                                           "Node/node-c", "Node/gpu-b"])
    since = control_plane.audit_offset()
    agent = AgentProcess(config, name="agent", env={})
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
    return FamilyRun(injections(journal), control_plane.audit_events(since, user=AGENT_USER), code,
                     leftovers(control_plane.admin, gpus=platform_ready), metrics, agent.logs())


def test_every_fault_family_is_applied_and_reverted(family_run: FamilyRun) -> None:
    done = {CATALOG[FaultKind(i.kind)].family for i in family_run.injections
            if i.outcome == "applied" and i.reverted is not None}
    assert done == FAMILIES, f"families not applied and reverted: {FAMILIES - done}\n{family_run.logs}"
    assert family_run.exit_code == 0, family_run.logs
    assert family_run.leftovers == [], family_run.logs
    assert "chaos_agent" in family_run.metrics


def test_the_daemon_made_no_forbidden_call(family_run: FamilyRun) -> None:
    assert family_run.events, "the audit log recorded no call of the agent's ServiceAccount"
    assert forbidden_calls(family_run.events) == []


def test_every_permission_granted_is_needed_by_a_call(control_plane: ControlPlane, family_run: FamilyRun) -> None:
    """Least privilege in both directions, on the RBAC objects the API server holds: each call the
    daemon made is granted (also shown by no 403), and each permission granted was used by a call.
    A permission only a rarer path needs must be exercised here before it may be granted."""
    permissions = granted(control_plane.admin, AGENT_NAMESPACE, "chaos-agent")
    made = calls(family_run.events)
    assert permissions and made
    missing = [c.describe() for c in ungranted(permissions, made)]
    assert not missing, "called but not granted:\n" + "\n".join(missing)
    spare = [p.describe() for p in unneeded(permissions, made)]
    assert not spare, f"granted but needed by none of the {len(made)} distinct calls:\n" + "\n".join(spare)


def test_the_daemon_authenticates_as_the_installed_service_account(installed_agent: InstalledAgent) -> None:
    review = installed_agent.api.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == AGENT_USER
