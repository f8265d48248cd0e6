"""deploy/rbac-calls.yaml lists exactly the calls the agent makes, both ways, cluster-wide and confined.

The whole repertoire runs against the emulator (``repertoire.record_calls``), cluster-wide and confined
to two namespaces; each request becomes (where, group, resource, verb). A call the file does not list
fails (add it to the file and the roles), and so does an entry no call needs (drop it from both).
tests/deploy/test_rbac.py holds the rendered roles to the same file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agent.backends.kubernetes.repertoire import TARGET_NAMESPACES, Call, as_call, record_calls, where
from tests.emulator.server import KubernetesEmulator

CALLS = Path(__file__).resolve().parents[4] / "deploy" / "rbac-calls.yaml"
Listed = tuple[str, str, str, str]  # where, group, resource, verb


def listed(*, confined: bool) -> set[Listed]:
    entries: list[dict[str, Any]] = yaml.safe_load(CALLS.read_text())["calls"]
    return {(e["where"], e["group"], e["resource"], verb) for e in entries for verb in e["verbs"]
            if confined or e.get("only") != "confined"}


@pytest.fixture(scope="module", params=[(), TARGET_NAMESPACES], ids=["cluster-wide", "confined"])
def recorded(request: pytest.FixtureRequest) -> Iterator[tuple[bool, list[Call]]]:
    em = KubernetesEmulator().start()
    try:
        yield bool(request.param), record_calls(em, namespaces=request.param)
    finally:
        em.stop()


def test_the_calls_file_lists_exactly_the_calls_made(recorded: tuple[bool, list[Call]]) -> None:
    confined, calls = recorded
    made = {(where(c, confined=confined), *c.permission) for c in calls}
    expected = listed(confined=confined)
    missing = sorted(made - expected)
    assert not missing, f"calls not in deploy/rbac-calls.yaml (add them and their grants): {missing}"
    assert not expected - made, f"listed but never made (drop them and their grants): {sorted(expected - made)}"


def test_confined_the_agent_never_lists_a_namespaced_resource_cluster_wide(
        recorded: tuple[bool, list[Call]]) -> None:
    confined, calls = recorded
    wide = {c for c in calls if c.namespace is None and where(c, confined=confined) != "cluster"}
    if confined:
        assert wide == set(), f"cluster-wide calls a RoleBinding cannot allow: {sorted(map(str, wide))}"
    else:
        assert {c.resource for c in wide} >= {"pods", "configmaps", "deployments"}


def test_call_parsing() -> None:
    assert as_call("GET", "/api/v1/pods", {"watch": "true"}) == Call("watch", "", "pods", None)
    assert as_call("POST", "/api/v1/namespaces/a/pods/p/eviction", {}) == Call("create", "", "pods/eviction", "a")
    assert as_call("PATCH", "/api/v1/nodes/n/status", {}) == Call("patch", "", "nodes/status", None)
    assert as_call("GET", "/apis/apps/v1/namespaces/a/deployments", {}) == Call("list", "apps", "deployments", "a")
    assert as_call("GET", "/apis/chaos-mesh.org/v1alpha1", {}) is None
    assert as_call("GET", "/version/", {}) is None
