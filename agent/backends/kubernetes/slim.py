"""Slim objects for the watch cache: only what a snapshot and the fault actions read.

At Kubernetes' scale limits (150,000 pods) full objects would hold gigabytes: ``managedFields`` go
everywhere, node image lists go, and a pod owned by a controller the twin reads through keeps only its
metadata, node, container resources, phase, Ready condition and restart counts. Applied page by page
as lists arrive, so a full page is never alive for long.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

INSTANCE_OWNERS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Node"})
"""Owners whose pods the twin reads through the owner (envs/twin catalog controllers, and static pods)."""


def _controller_kind(obj: Obj) -> str | None:
    owners = [o for o in (obj.get("metadata") or {}).get("ownerReferences") or [] if isinstance(o, dict)]
    chosen = [o for o in owners if o.get("controller") is True] or owners
    kind = chosen[0].get("kind") if chosen else None
    return kind if isinstance(kind, str) else None


def slim(obj: Obj) -> Obj:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    out = {k: v for k, v in obj.items() if k != "metadata"}
    out["metadata"] = metadata
    if obj.get("kind") == "Node" and "images" in (obj.get("status") or {}):
        out["status"] = {k: v for k, v in obj["status"].items() if k != "images"}
    elif obj.get("kind") == "Pod" and _controller_kind(obj) in INSTANCE_OWNERS:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        out["spec"] = {k: v for k, v in spec.items() if k == "nodeName"}
        out["spec"]["containers"] = [{"name": c.get("name"), "resources": c.get("resources") or {}}
                                     for c in spec.get("containers") or []]
        out["status"] = {k: v for k, v in status.items() if k == "phase"}
        out["status"]["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        out["status"]["containerStatuses"] = [{"name": c.get("name"), "restartCount": c.get("restartCount", 0)}
                                              for c in status.get("containerStatuses") or []]
    return out
