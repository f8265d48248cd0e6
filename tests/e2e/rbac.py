"""The agent's permissions as the API server holds them, against the calls its audit log recorded.

A permission is (API group, resource[/subresource], verb, where): where is ``*`` for a
ClusterRoleBinding and the namespace for a RoleBinding. A call (an audit event) needs the permission
that matches its group, resource, verb and namespace. Read from the installed RBAC objects, whatever
deploy/ (or a Helm chart) generates them from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.servers.kubernetes_api import RestClient

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class Permission:
    group: str
    resource: str
    verb: str
    where: str
    names: tuple[str, ...] = ()
    """resourceNames, when the rule is limited to them."""
    role: str = ""

    def describe(self) -> str:
        scope = "cluster-wide" if self.where == "*" else f"in namespace {self.where}"
        names = f" (names {', '.join(self.names)})" if self.names else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{names} {scope}, granted by {self.role}"


@dataclass(frozen=True)
class Call:
    group: str
    resource: str
    verb: str
    namespace: str | None
    name: str | None

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{where}"


def calls(events: Iterable[dict[str, Any]]) -> set[Call]:
    """The resource calls of audit events (discovery and /version, non-resource URLs, are left out)."""
    out = set()
    for e in events:
        ref = e.get("objectRef")
        if not ref or not ref.get("resource"):
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        out.add(Call(ref.get("apiGroup", ""), resource, e["verb"], ref.get("namespace"), ref.get("name")))
    return out


def _subject_matches(subjects: list[dict[str, Any]] | None, namespace: str, name: str) -> bool:
    return any(s.get("kind") == "ServiceAccount" and s.get("name") == name and s.get("namespace") == namespace
               for s in subjects or [])


def _rules(api: RestClient, ref: dict[str, Any], namespace: str | None) -> tuple[str, list[dict[str, Any]]]:
    if ref["kind"] == "ClusterRole":
        return f"ClusterRole {ref['name']}", api.get(f"{RBAC}/clusterroles/{ref['name']}").get("rules") or []
    return f"Role {namespace}/{ref['name']}", api.get(f"{RBAC}/namespaces/{namespace}/roles/{ref['name']}").get(
        "rules") or []


def granted(api: RestClient, namespace: str, service_account: str) -> set[Permission]:
    """Every permission bound to the ServiceAccount, expanded to one per group, resource and verb."""
    bound: list[tuple[str, str, list[dict[str, Any]]]] = []
    for binding in api.list(f"{RBAC}/clusterrolebindings"):
        if _subject_matches(binding.get("subjects"), namespace, service_account):
            role, rules = _rules(api, binding["roleRef"], None)
            bound.append(("*", f"{role} (ClusterRoleBinding {binding['metadata']['name']})", rules))
    for binding in api.list(f"{RBAC}/rolebindings"):
        if _subject_matches(binding.get("subjects"), namespace, service_account):
            where = binding["metadata"]["namespace"]
            role, rules = _rules(api, binding["roleRef"], where)
            bound.append((where, f"{role} (RoleBinding {where}/{binding['metadata']['name']})", rules))
    return {Permission(group, resource, verb, where, tuple(rule.get("resourceNames") or ()), role)
            for where, role, rules in bound for rule in rules
            for group in rule.get("apiGroups") or [] for resource in rule.get("resources") or []
            for verb in rule.get("verbs") or []}


def allows(permission: Permission, call: Call) -> bool:
    return (permission.group == call.group and permission.resource == call.resource and permission.verb == call.verb
            and permission.where in ("*", call.namespace)
            and (not permission.names or call.name in permission.names))


def unneeded(permissions: Iterable[Permission], made: Iterable[Call]) -> list[Permission]:
    """The permissions that no call used."""
    made = list(made)
    return sorted((p for p in permissions if not any(allows(p, c) for c in made)), key=Permission.describe)


def ungranted(permissions: Iterable[Permission], made: Iterable[Call]) -> list[Call]:
    permissions = list(permissions)
    return sorted((c for c in made if not any(allows(p, c) for p in permissions)), key=Call.describe)
