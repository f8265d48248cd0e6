"""The agent's RBAC is least privilege, both ways: every call it makes is allowed, and every grant is used.

Each rendered role is held to its entries of deploy/rbac-calls.yaml. Then the calls the agent really
makes (the whole repertoire recorded against the emulator, cluster-wide or confined to the namespaces the
variant's config names) go through a small authorizer, as the API server's RBAC authorizer decides:
every call must be allowed by a binding of the agent's ServiceAccount (data-fault writes only where a
variant binds them), and every verb of every bound role must be used by some call one of its bindings allows.
The docs' table of calls is held to the same file.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from deploy_manifests import KUSTOMIZATIONS, REPO, Manifest, find
from rbac_check import (
    AGENT,
    ESCALATING_VERBS,
    KNOWN_VERBS,
    ROLE_WHERE,
    check_least_privilege,
    confined_to,
    granted_permissions,
    listed_permissions,
    load_calls,
    roles,
)

from tests.agent.backends.kubernetes.repertoire import Call


def test_rbac_calls_file_is_well_formed() -> None:
    seen: set[tuple[str, str, str]] = set()
    for call in load_calls():
        assert set(call) - {"only"} == {"group", "resource", "verbs", "where", "why"}, call
        assert call["where"] in ROLE_WHERE.values(), call
        assert call.get("only", "confined") == "confined", call
        assert call["verbs"] and set(call["verbs"]) <= KNOWN_VERBS, call
        assert len(set(call["verbs"])) == len(call["verbs"]), f"repeated verb in {call}"
        key = (call["where"], call["group"], call["resource"])
        assert key not in seen, f"{key} is listed twice; merge the entries"
        seen.add(key)


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_roles_grant_exactly_the_listed_calls(rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    listed = listed_permissions(confined=bool(confined_to(objects)))
    for role in roles(objects):
        key = (role["kind"], role["metadata"]["name"])
        assert key in ROLE_WHERE, f"{key} is not a known role of the agent: give it a 'where' here and in the file"
        scope = ROLE_WHERE[key]
        granted = granted_permissions(role["rules"], scope)
        wanted = {p for p in listed if p[0] == scope}
        extra, missing = sorted(granted - wanted), sorted(wanted - granted)
        assert not extra, f"{key} grants what deploy/rbac-calls.yaml does not list: {extra}"
        assert not missing, f"{key} misses what deploy/rbac-calls.yaml lists: {missing}"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_no_wildcards_no_secrets_no_escalation(rendered: dict[str, list[Manifest]], name: str) -> None:
    for role in roles(rendered[name]):
        assert "aggregationRule" not in role, f"{role['metadata']['name']} aggregates other roles"
        for rule in role["rules"]:
            where_ = f"{role['kind']} {role['metadata']['name']} rule {rule}"
            assert "nonResourceURLs" not in rule, where_
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in value for value in rule.get(field, [])), f"wildcard in {where_}"
            resources = {r.split("/")[0] for r in rule["resources"]}
            assert "secrets" not in resources, f"Secrets in {where_}"
            assert not set(rule["verbs"]) & ESCALATING_VERBS, f"escalating verb in {where_}"
            assert not {"roles", "clusterroles", "rolebindings", "clusterrolebindings"} & resources, where_


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_bindings_name_only_the_agent(rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    for binding in find(objects, "ClusterRoleBinding") + find(objects, "RoleBinding"):
        assert binding["subjects"] == [AGENT], binding["metadata"]
        ref = binding["roleRef"]
        assert (ref["kind"], ref["name"]) in ROLE_WHERE, ref
    for binding in find(objects, "ClusterRoleBinding"):
        assert binding["roleRef"]["name"] not in ("chaos-agent-data-faults", "chaos-agent-node-events"), (
            f"{name}: {binding['roleRef']['name']} must be bound per namespace with a RoleBinding, not cluster-wide")
    example = find(rendered["example/data-faults"], "RoleBinding", "chaos-agent-data-faults")
    assert [b["metadata"]["namespace"] for b in example] == ["ml"]


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_every_call_is_allowed_and_every_grant_used(
        rendered: dict[str, list[Manifest]], recorded: Callable[[tuple[str, ...]], list[Call]], name: str) -> None:
    objects = rendered[name]
    check_least_privilege(name, objects, recorded(confined_to(objects)))


def test_the_docs_table_is_the_calls_file() -> None:
    """docs/deployment.md's table of permissions lists exactly deploy/rbac-calls.yaml."""
    docs = (REPO / "docs" / "deployment.md").read_text()
    section = docs.split("## Permissions", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (cluster|targets|own-namespace|default-namespace|data-namespaces)"
                      r"( \(confined\))? \| (\S+) \| (\S+) \| ([a-z ]+) \|", section, re.M)
    in_docs = {(w, "" if g == "core" else g, r, v, bool(c)) for w, c, g, r, verbs in rows for v in verbs.split()}
    in_file = {(c["where"], c["group"], c["resource"], v, c.get("only") == "confined")
               for c in load_calls() for v in c["verbs"]}
    assert in_docs == in_file, (f"only in docs: {sorted(in_docs - in_file)}; "
                                f"only in deploy/rbac-calls.yaml: {sorted(in_file - in_docs)}")
