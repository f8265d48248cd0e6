"""The eviction subresource's PodDisruptionBudget check, as the API server's eviction REST handler does it.

Without a disruption controller the budget's status is computed live, as that controller would:
expected pods are the desired replicas of the controllers owning the selected pods (a pod without a
controller counts once), healthy ones are Ready and not terminating. Unhealthy pods may be evicted
while the budget is met (the default ``unhealthyPodEvictionPolicy: IfHealthyBudget``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tests.emulator.store import ApiStatus, Obj


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req["key"], req["operator"], set(req.get("values") or [])
        present, inside = key in labels, labels.get(key) in values
        ok = {"In": inside, "NotIn": not inside, "Exists": present, "DoesNotExist": not present}[op]
        if not ok:
            return False
    return True


def is_healthy(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _count(value: int | str, expected: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = int(value[:-1]) * expected / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


def check_eviction(
    pod: Obj, pdbs: list[Obj], pods: list[Obj], scale_of: Callable[[str, dict[str, Any]], int | None]
) -> None:
    """Raise the API server's answer when evicting ``pod`` would break its budget."""
    labels = pod["metadata"].get("labels") or {}
    matching = [p for p in pdbs if _selects(p.get("spec", {}).get("selector"), labels)]
    if not matching:
        return
    if len(matching) > 1:
        raise ApiStatus(
            500,
            "InternalError",
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        )
    pdb = matching[0]
    spec = pdb.get("spec", {})
    selected = [
        p
        for p in pods
        if _selects(spec.get("selector"), p["metadata"].get("labels") or {})
        and not p["metadata"].get("deletionTimestamp")
    ]
    owners: dict[str, int] = {}
    expected = 0
    for p in selected:
        ref = next((r for r in p["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        scale = scale_of(p["metadata"]["namespace"], ref) if ref else None
        if ref is None or scale is None:
            expected += 1
        else:
            owners[ref["uid"]] = scale
    expected += sum(owners.values())
    healthy = sum(1 for p in selected if is_healthy(p))
    if spec.get("minAvailable") is not None:
        desired = _count(spec["minAvailable"], expected, round_up=True)
    elif spec.get("maxUnavailable") is not None:
        desired = expected - _count(spec["maxUnavailable"], expected, round_up=True)
    else:
        desired = expected
    allowed = healthy - desired
    if not is_healthy(pod) and healthy >= desired:
        return
    if allowed >= 1:
        return
    name = pdb["metadata"]["name"]
    raise ApiStatus(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": (
                        f"The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
                    ),
                }
            ]
        },
    )
