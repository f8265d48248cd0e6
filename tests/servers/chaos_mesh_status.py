"""What Chaos Mesh's controller-manager writes on a NetworkChaos or StressChaos, as pure functions: the one
status computation of the two stand-ins for it, tests/emulator/chaos_mesh.py (on the emulator's store)
and tests/e2e/chaos_mesh.py (on the real API server, with Chaos Mesh's own CRDs).

Both are stand-ins, not Chaos Mesh: its chaos-daemon enters each target container's network namespace
and cgroup, and neither the emulator nor a hollow kubelet runs a container, so no rule is ever set. What
they keep is the protocol the agent reads, as github.com/chaos-mesh/chaos-mesh's controllers/common
(records, condition, finalizers) write it:
- the records controller selects targets once, when the object has no records yet (nothing selected:
  no records, and it tries again later); one record per pod, or per container for a StressChaos (its
  ``containerNames``, else the pod's first container), with the ids Chaos Mesh gives them;
- each record goes ``Not Injected`` -> ``Injected`` with a ``Succeeded`` ``Apply`` event; a NetworkChaos
  on a pod with ``hostNetwork`` is refused by the podnetworkchaos controller, so its record stays
  ``Not Injected/Wait`` with a ``Failed`` ``Apply`` event carrying Chaos Mesh's message;
- the condition controller's ``diffConditions``: Selected (records exist), AllInjected, AllRecovered, Paused;
- the ``chaos-mesh/records`` finalizer stays on a deleted object until every record is back to
  ``Not Injected``.
Targets are chosen in name order where Chaos Mesh chooses at random (mode ``one``, ``fixed``, ...).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]

RECORDS_FINALIZER = "chaos-mesh/records"
INJECTED, NOT_INJECTED, WAITING_TO_APPLY = "Injected", "Not Injected", "Not Injected/Wait"
HOST_NETWORK_REFUSAL = "It's dangerous to inject network chaos on a pod({}/{}) with `hostNetwork`"
"""controllers/podnetworkchaos/controller.go's error, word for word."""


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def selects(selector: Obj, pod: Obj, *, namespace: str) -> bool:
    """Chaos Mesh's pod selector: ``pods`` by name, else ``namespaces`` (the object's own ``namespace``
    when none is given, as its webhook defaults it), ``labelSelectors`` and ``expressionSelectors``."""
    meta = pod["metadata"]
    if selector.get("pods"):
        return meta["name"] in (selector["pods"].get(meta.get("namespace")) or [])
    if meta.get("namespace") not in (selector.get("namespaces") or [namespace]):
        return False
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("labelSelectors") or {}).items()):
        return False
    for req in selector.get("expressionSelectors") or []:
        key, values = req["key"], set(req.get("values") or [])
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[req["operator"]]
        if not ok:
            return False
    return True


def by_mode(pods: list[Obj], spec: Obj) -> list[Obj]:
    mode, value = spec.get("mode", "all"), spec.get("value") or "0"
    if mode == "one":
        return pods[:1]
    if mode == "fixed":
        return pods[: int(value)]
    if mode in ("fixed-percent", "random-max-percent"):
        return pods[: math.ceil(len(pods) * int(value) / 100)]
    return pods


def _event(kind: str, message: str = "") -> Obj:
    event: Obj = {"type": kind, "operation": "Apply", "timestamp": now_rfc3339()}
    if message:
        event["message"] = message
    return event


def select_records(kind: str, obj: Obj, pods: Iterable[Obj]) -> list[Obj] | None:
    """The records of ``obj`` (a NetworkChaos or StressChaos) over the running ``pods`` of the cluster,
    already applied; None when nothing is selected."""
    spec = obj.get("spec") or {}
    namespace = obj["metadata"].get("namespace", "")
    candidates = sorted((p for p in pods if not p["metadata"].get("deletionTimestamp")
                         and selects(spec.get("selector") or {}, p, namespace=namespace)),
                        key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"]))
    records = []
    for pod in by_mode(candidates, spec):
        pod_id = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        ids = [pod_id]
        if kind == "StressChaos":
            containers = [c["name"] for c in pod["spec"]["containers"]]
            wanted = spec.get("containerNames") or containers[:1]
            ids = [f"{pod_id}/{c}" for c in containers if c in wanted]
        for record_id in ids:
            if kind == "NetworkChaos" and (pod.get("spec") or {}).get("hostNetwork"):
                message = HOST_NETWORK_REFUSAL.format(pod["metadata"]["namespace"], pod["metadata"]["name"])
                records.append({"id": record_id, "selectorKey": ".", "phase": WAITING_TO_APPLY,
                                "injectedCount": 0, "recoveredCount": 0, "events": [_event("Failed", message)]})
            else:
                records.append({"id": record_id, "selectorKey": ".", "phase": INJECTED,
                                "injectedCount": 1, "recoveredCount": 0, "events": [_event("Succeeded")]})
    return records or None


def conditions(records: list[Obj] | None, *, paused: bool = False) -> list[Obj]:
    """``diffConditions``: the four conditions from the records (None: nothing selected yet)."""
    def status(flag: bool) -> str:
        return "True" if flag else "False"

    return [
        {"type": "Selected", "status": status(records is not None)},
        {"type": "AllInjected", "status": status(records is not None and all(r["phase"] == INJECTED
                                                                             for r in records))},
        {"type": "AllRecovered", "status": status(records is not None and all(r["phase"] == NOT_INJECTED
                                                                              for r in records))},
        {"type": "Paused", "status": status(paused)},
    ]


def injected_status(records: list[Obj] | None) -> Obj:
    """The status once the records are applied (only the conditions while nothing is selected)."""
    if records is None:
        return {"conditions": conditions(None)}
    return {"experiment": {"desiredPhase": "Run", "containerRecords": records}, "conditions": conditions(records)}


def recovered(records: list[Obj]) -> list[Obj]:
    """Every record back to ``Not Injected``, counting a recovery for each that was injected."""
    return [{**r, "phase": NOT_INJECTED, "recoveredCount": r.get("recoveredCount", 0) + (r["phase"] == INJECTED)}
            for r in records]


def recovered_status(records: list[Obj]) -> Obj:
    back = recovered(records)
    return {"experiment": {"desiredPhase": "Stop", "containerRecords": back}, "conditions": conditions(back)}


def finalizers_with(obj: Obj) -> list[str]:
    have = list(obj["metadata"].get("finalizers") or [])
    return have if RECORDS_FINALIZER in have else [*have, RECORDS_FINALIZER]


def finalizers_without(obj: Obj) -> list[str]:
    return [f for f in obj["metadata"].get("finalizers") or [] if f != RECORDS_FINALIZER]
