"""Least privilege, checked as the API server's RBAC authorizer decides: deploy/rbac-calls.yaml read, the
rendered roles and bindings of one variant (Kustomize or Helm) taken apart, and the recorded calls
(tests/agent/backends/kubernetes/repertoire.py) held against them both ways."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from deploy_manifests import DEPLOY, Manifest, find

from tests.agent.backends.kubernetes.repertoire import Call, where

Permission = tuple[str, str, str, str]  # where, group, resource, verb

ROLE_WHERE = {
    ("ClusterRole", "chaos-agent-nodes"): "cluster",
    ("ClusterRole", "chaos-agent"): "targets",
    ("Role", "chaos-agent-own-namespace"): "own-namespace",
    ("ClusterRole", "chaos-agent-node-events"): "default-namespace",
    ("ClusterRole", "chaos-agent-data-faults"): "data-namespaces",
}
KNOWN_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
# Verbs that hand out more than an API call: they let a subject grant or borrow privileges.
ESCALATING_VERBS = {"escalate", "bind", "impersonate", "*"}
AGENT = {"kind": "ServiceAccount", "name": "chaos-agent", "namespace": "chaos-agent"}


def load_calls() -> list[dict[str, Any]]:
    calls = yaml.safe_load((DEPLOY / "rbac-calls.yaml").read_text())["calls"]
    assert isinstance(calls, list) and calls, "deploy/rbac-calls.yaml must list the calls under 'calls'"
    return calls


def listed_permissions(*, confined: bool) -> set[Permission]:
    return {(c["where"], c["group"], c["resource"], verb) for c in load_calls() for verb in c["verbs"]
            if confined or c.get("only") != "confined"}


def granted_permissions(rules: Iterable[dict[str, Any]], scope: str) -> set[Permission]:
    return {(scope, group, resource, verb) for rule in rules for group in rule.get("apiGroups", [])
            for resource in rule.get("resources", []) for verb in rule.get("verbs", [])}


def roles(objects: list[Manifest]) -> list[Manifest]:
    return find(objects, "ClusterRole") + find(objects, "Role")


def confined_to(objects: list[Manifest]) -> tuple[str, ...]:
    """The namespaces the variant's config confines the agent to (empty: the whole cluster)."""
    (config,) = [c for c in find(objects, "ConfigMap") if c["metadata"]["name"].startswith("chaos-agent-config")]
    settings = tomllib.loads(config["data"]["config.toml"])
    return tuple(settings.get("cluster", {}).get("kubernetes", {}).get("namespaces", ()))


class Bindings:
    """The agent's bindings in a rendered variant, read as the RBAC authorizer reads them."""

    def __init__(self, objects: list[Manifest]) -> None:
        by_name = {(r["kind"], r["metadata"]["name"]): r for r in roles(objects)}
        self.grants: list[tuple[str, str | None, Manifest]] = []  # binding, namespace (None: cluster-wide), role
        for b in find(objects, "ClusterRoleBinding") + find(objects, "RoleBinding"):
            if AGENT not in b["subjects"]:
                continue
            namespace = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
            role = by_name.get((b["roleRef"]["kind"], b["roleRef"]["name"]))
            if role is not None and (role["kind"] == "ClusterRole" or role["metadata"].get("namespace") == namespace):
                self.grants.append((f"{b['kind']} {namespace or ''}/{b['metadata']['name']}", namespace, role))

    def through(self, call: Call) -> list[str]:
        """The bound roles (``Kind name``) that allow ``call``."""
        return [f"{role['kind']} {role['metadata']['name']}" for _b, namespace, role in self.grants
                if (namespace is None or namespace == call.namespace) and _rules_allow(role["rules"], call)]

    def verbs(self) -> Iterator[tuple[str, str, str, str]]:
        """Every (role, group, resource, verb) some binding of the agent grants."""
        for _b, _namespace, role in self.grants:
            for _scope, group, resource, verb in granted_permissions(role["rules"], ""):
                yield f"{role['kind']} {role['metadata']['name']}", group, resource, verb


def _rules_allow(rules: list[dict[str, Any]], call: Call) -> bool:
    return any(call.group in r.get("apiGroups", []) and call.resource in r.get("resources", [])
               and call.verb in r.get("verbs", []) for r in rules)


def check_least_privilege(name: str, objects: list[Manifest], calls: list[Call]) -> None:
    """Every call allowed (data-fault writes only where bound), every verb of every bound role used."""
    namespaces = confined_to(objects)
    bindings = Bindings(objects)
    data_bound = {ns for _n, ns, role in bindings.grants if role["metadata"]["name"] == "chaos-agent-data-faults"}
    forbidden = []
    for call in calls:
        allowed = bool(bindings.through(call))
        if where(call, confined=bool(namespaces)) == "data-namespaces" and call.namespace not in data_bound:
            assert not allowed, f"{name}: data faults are allowed in {call.namespace}, which no RoleBinding names"
            continue  # data faults there are refused by the API server, as docs/deployment.md says
        if not allowed:
            forbidden.append(f"{call.verb} {call.group}/{call.resource} in {call.namespace or 'the cluster'}")
    assert not forbidden, f"{name}: calls the RBAC forbids: {sorted(set(forbidden))}"
    used = {(role, *call.permission) for call in calls for role in bindings.through(call)}
    unused = sorted({f"{role}: {v} {g}/{r}" for role, g, r, v in bindings.verbs() if (role, g, r, v) not in used})
    assert not unused, f"{name}: grants no call needs: {unused}"
