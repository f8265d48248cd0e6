"""JSON merge patch (RFC 7386) and strategic merge patch, as the API server applies them.

Strategic merge differs from a merge patch in lists that carry a merge key in the Kubernetes Go
types: such lists are merged item by item on that key (``$patch: delete`` removes an item), and
lists without one are replaced. The table below holds the merge keys of the fields this project's
tests patch; any other list is replaced, which is what the API server does for atomic lists.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
}
SET_LISTS = frozenset({"finalizers"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, list):
        return _merge_list(target if isinstance(target, list) else [], patch, field)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge_patch(result.get(key), value, key)
    return result


def _merge_list(target: list[Any], patch: list[Any], field: str) -> list[Any]:
    if field in SET_LISTS:
        return list(dict.fromkeys([*target, *patch]))
    key = MERGE_KEYS.get(field)
    if key is None:
        return copy.deepcopy(patch)
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise ValueError(f"strategic merge: every item of {field} needs the merge key {key!r}")
        found = next((i for i, cur in enumerate(result) if cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if found is not None:
                result.pop(found)
        elif found is None:
            result.append(copy.deepcopy(item))
        else:
            result[found] = strategic_merge_patch(result[found], item, field)
    return result
