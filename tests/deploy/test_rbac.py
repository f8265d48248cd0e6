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
import tomllib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import yaml
from deploy_manifests import DEPLOY, KUSTOMIZATIONS, REPO, Manifest, find

from tests.agent.backends.kubernetes.repertoire import Call, record_calls, where
from tests.emulator.server import KubernetesEmulator

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


# ---- the authorizer: recorded calls against the rendered bindings -------------------------------------


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


@pytest.fixture(scope="module")
def recorded() -> Callable[[tuple[str, ...]], list[Call]]:
    """The repertoire's calls, recorded once per way of confining the agent (about 10 s each)."""
    cache: dict[tuple[str, ...], list[Call]] = {}

    def calls(namespaces: tuple[str, ...]) -> list[Call]:
        if namespaces not in cache:
            em = KubernetesEmulator().start()
            try:
                cache[namespaces] = record_calls(em, namespaces=namespaces)
            finally:
                em.stop()
        return cache[namespaces]

    return calls


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_every_call_is_allowed_and_every_grant_used(
        rendered: dict[str, list[Manifest]], recorded: Callable[[tuple[str, ...]], list[Call]], name: str) -> None:
    objects = rendered[name]
    namespaces = confined_to(objects)
    calls = recorded(namespaces)
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
