"""Read-modify-write of a node under optimistic concurrency, and the taints and annotations faults use.

A node's taint list is replaced as a whole by a patch, so a change is computed from a fresh read and
sent with that read's resourceVersion; a 409 Conflict (someone else changed the node) re-reads and
tries again. Other controllers' taints are kept as they are.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from agent.backends.kubernetes.api import KubeApi, Obj
from agent.backends.kubernetes.errors import Conflict
from agent.backends.kubernetes.resources import NODES
from agent.backends.kubernetes.view import meta

MAX_CONFLICTS = 5


def update_node(api: KubeApi, name: str, change: Callable[[Obj], dict[str, Any] | None]) -> Obj | None:
    """``change(node)`` returns a merge patch (without resourceVersion) or None for nothing to do."""
    for attempt in range(MAX_CONFLICTS):
        node = api.get(NODES, name)
        patch = change(copy.deepcopy(node))
        if patch is None:
            return node
        patch = copy.deepcopy(patch)
        patch.setdefault("metadata", {})["resourceVersion"] = meta(node)["resourceVersion"]
        try:
            return api.patch(NODES, name, patch)
        except Conflict:
            if attempt == MAX_CONFLICTS - 1:
                raise
    return None


def taints_of(node: Obj) -> list[Obj]:
    return list((node.get("spec") or {}).get("taints") or [])


def with_taint(node: Obj, key: str, value: str, effect: str = "NoExecute") -> dict[str, Any] | None:
    taints = taints_of(node)
    if any(t.get("key") == key and t.get("effect") == effect for t in taints):
        return None  # one taint per key and effect: an existing one stays (another fault holds it)
    added = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"taints": [*taints, {"key": key, "value": value, "effect": effect, "timeAdded": added}]}}


def without_taint(node: Obj, key: str, value: str) -> dict[str, Any] | None:
    taints = taints_of(node)
    kept = [t for t in taints if not (t.get("key") == key and t.get("value") == value)]
    if len(kept) == len(taints):
        return None
    return {"spec": {"taints": kept or None}}


def taint_values(api: KubeApi, key: str) -> dict[str, list[str]]:
    """Mark value -> names of the nodes carrying taint ``key`` with it."""
    found: dict[str, list[str]] = {}
    for node in api.list(NODES).items:
        for taint in taints_of(node):
            if taint.get("key") == key:
                found.setdefault(str(taint.get("value", "")), []).append(meta(node)["name"])
    return found


def annotation_of(node: Obj, key: str) -> str | None:
    value = (meta(node).get("annotations") or {}).get(key)
    return str(value) if value is not None else None
