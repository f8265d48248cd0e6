"""The agent's RBAC grants exactly the calls listed in deploy/rbac-calls.yaml: least privilege.

Each rendered role is mapped to the scope it grants (cluster, the agent's namespace, the namespaces of
data faults); every (group, resource, verb) granted must be listed, and every listed call granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import yaml
from deploy_manifests import DEPLOY, KUSTOMIZATIONS, Manifest, find, one

Permission = tuple[str, str, str, str]  # scope, group, resource, verb

ROLE_SCOPES = {
    ("ClusterRole", "chaos-agent"): "cluster",
    ("Role", "chaos-agent-leader-election"): "namespace",
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


def listed_permissions() -> set[Permission]:
    return {(c["scope"], c["group"], c["resource"], verb) for c in load_calls() for verb in c["verbs"]}


def granted_permissions(rules: Iterable[dict[str, Any]], scope: str) -> set[Permission]:
    return {
        (scope, group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def roles(objects: list[Manifest]) -> list[Manifest]:
    return find(objects, "ClusterRole") + find(objects, "Role")


def test_rbac_calls_file_is_well_formed() -> None:
    seen: set[tuple[str, str, str]] = set()
    for call in load_calls():
        assert set(call) == {"group", "resource", "verbs", "scope", "why"}, call
        assert call["scope"] in ROLE_SCOPES.values(), call
        assert call["verbs"] and set(call["verbs"]) <= KNOWN_VERBS, call
        assert len(set(call["verbs"])) == len(call["verbs"]), f"repeated verb in {call}"
        key = (call["scope"], call["group"], call["resource"])
        assert key not in seen, f"{key} is listed twice; merge the entries"
        seen.add(key)


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_roles_grant_exactly_the_listed_calls(rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    granted: set[Permission] = set()
    for role in roles(objects):
        key = (role["kind"], role["metadata"]["name"])
        assert key in ROLE_SCOPES, (
            f"{key} is not a known role of the agent: give it a scope in rbac-calls.yaml and in this test")
        granted |= granted_permissions(role["rules"], ROLE_SCOPES[key])
    listed = listed_permissions()
    assert not granted - listed, f"granted but not in deploy/rbac-calls.yaml: {sorted(granted - listed)}"
    assert not listed - granted, f"in deploy/rbac-calls.yaml but not granted: {sorted(listed - granted)}"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_no_wildcards_no_secrets_no_escalation(rendered: dict[str, list[Manifest]], name: str) -> None:
    for role in roles(rendered[name]):
        assert "aggregationRule" not in role, f"{role['metadata']['name']} aggregates other roles"
        for rule in role["rules"]:
            where = f"{role['kind']} {role['metadata']['name']} rule {rule}"
            assert "nonResourceURLs" not in rule, where
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in value for value in rule.get(field, [])), f"wildcard in {where}"
            resources = {r.split("/")[0] for r in rule["resources"]}
            assert "secrets" not in resources, f"Secrets in {where}"
            assert not set(rule["verbs"]) & ESCALATING_VERBS, f"escalating verb in {where}"
            assert not {"roles", "clusterroles", "rolebindings", "clusterrolebindings"} & resources, where


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_bindings_give_each_role_its_scope(rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    cluster_binding = one(objects, "ClusterRoleBinding")
    assert cluster_binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "chaos-agent"}
    assert cluster_binding["subjects"] == [AGENT]
    sa = one(objects, "ServiceAccount", "chaos-agent")
    assert sa["metadata"]["namespace"] == AGENT["namespace"]
    for binding in find(objects, "RoleBinding"):
        assert binding["subjects"] == [AGENT], binding["metadata"]
        ref = binding["roleRef"]
        if ref["kind"] == "Role":
            assert ref["name"] == "chaos-agent-leader-election"
            namespace = binding["metadata"]["namespace"]
            assert namespace == "chaos-agent", "the Lease lives in the agent's namespace"
        else:
            assert ref == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "chaos-agent-data-faults"}, binding["metadata"]
    one(objects, "RoleBinding", "chaos-agent-leader-election")


def test_data_fault_writes_are_bound_only_per_namespace(rendered: dict[str, list[Manifest]]) -> None:
    for name, objects in rendered.items():
        for binding in find(objects, "ClusterRoleBinding"):
            assert binding["roleRef"]["name"] != "chaos-agent-data-faults", (
                f"{name}: ConfigMap writes must be bound per namespace with a RoleBinding, not cluster-wide")
    example = find(rendered["example/data-faults"], "RoleBinding", "chaos-agent-data-faults")
    assert [b["metadata"]["namespace"] for b in example] == ["ml-pipelines"]
