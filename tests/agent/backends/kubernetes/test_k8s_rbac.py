"""Every API call the Kubernetes backend makes is granted by the deployment's RBAC.

The backend runs its whole repertoire against the emulator (snapshot with watches, every fault kind
injected and reverted, the start-up sweep, leader election) while the emulator records each request;
each request becomes (API group, resource, verb) and must be listed in deploy/rbac-calls.yaml, which
tests/deploy/test_rbac.py holds equal to the rendered ClusterRole and Roles. A new call without a rule
fails here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.leader import LeaderElector
from envs.faults import FAULT_KINDS, Fault
from tests.agent.backends.kubernetes.conftest import Seeded, fast_api
from tests.agent.backends.kubernetes.test_k8s_faults import TARGETS
from tests.emulator.server import KubernetesEmulator

CALLS = Path(__file__).resolve().parents[4] / "deploy" / "rbac-calls.yaml"
_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/[^/]+)?/(?P<rest>.+)$")
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def permission(method: str, path: str, query: dict[str, str]) -> tuple[str, str, str] | None:
    """(group, resource[/subresource], verb) of a request; None for discovery, which needs no rule."""
    m = _PATH.match(path)
    if m is None:
        return None
    group = m.group("group") or ""
    parts = m.group("rest").split("/")
    resource, name = parts[0], parts[1] if len(parts) > 1 else None
    if len(parts) > 2:
        resource = f"{resource}/{parts[2]}"
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("1", "true") else "list")
    elif method == "DELETE" and name is None:
        verb = "deletecollection"
    else:
        verb = _VERBS[method]
    return group, resource, verb


def test_the_backend_makes_no_call_the_rbac_does_not_grant(seeded: Seeded, k8s_emulator: KubernetesEmulator) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    api = fast_api(em)
    backend = KubernetesBackend(api)
    try:
        backend.start(timeout_s=10)
        backend.snapshot()
        for kind in FAULT_KINDS:
            injection = backend.inject(Fault(kind, 1, TARGETS[kind], duration_s=60), injection_id=f"rbac-{kind.value}")
            backend.revert(injection)
        backend.revert_orphans(set())
        elector = LeaderElector(api, namespace="chaos-agent", name="chaos-agent-leader", identity="a",
                                lease_duration_s=2)
        elector.try_acquire_or_renew()
        elector.try_acquire_or_renew()
        elector.release()
    finally:
        backend.close()
    made = {p for r in em.requests if (p := permission(r.method, r.path, r.query)) is not None}
    assert len(made) > 10, made
    listed = {(c["group"], c["resource"], verb)
              for c in yaml.safe_load(CALLS.read_text())["calls"] for verb in c["verbs"]}
    missing = sorted(made - listed)
    assert not missing, f"calls without an RBAC rule (add them to deploy/rbac-calls.yaml and the roles): {missing}"


def test_permission_parsing() -> None:
    assert permission("GET", "/api/v1/pods", {"watch": "true"}) == ("", "pods", "watch")
    assert permission("POST", "/api/v1/namespaces/a/pods/p/eviction", {}) == ("", "pods/eviction", "create")
    assert permission("PATCH", "/api/v1/nodes/n/status", {}) == ("", "nodes/status", "patch")
    assert permission("GET", "/apis/apps/v1/namespaces/a/deployments", {}) == ("apps", "deployments", "list")
    assert permission("GET", "/apis/chaos-mesh.org/v1alpha1", {}) is None
    assert permission("GET", "/version/", {}) is None
