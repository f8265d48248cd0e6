"""A stand-in for Chaos Mesh's controller-manager, so the emulator answers chaos objects as a cluster does.

What the agent reads of Chaos Mesh, written as its records, condition and finalizer controllers write
it (chaos-mesh controllers/common): shortly after an object is created it gets the ``chaos-mesh/records``
finalizer and a status with one record per selected pod (per container for a StressChaos: the
``containerNames``, else each pod's first container), each ``Injected`` with a ``Succeeded``/``Apply``
event, and the conditions ``Selected`` and ``AllInjected``. A NetworkChaos on a pod with hostNetwork is
refused as Chaos Mesh refuses it (phase ``Not Injected/Wait``, a ``Failed``/``Apply`` event with its
message). A deleted object goes once the records are recovered: its finalizer is removed after
``recover_delay_s``. Tests switch parts off: ``injects = False`` (the controller is down: no status, no
finalizer removal), ``holds_finalizers = True`` (recovery never finishes).
"""

from __future__ import annotations

import math
import threading
from typing import Any

from tests.emulator.resources import ResourceType
from tests.emulator.store import ApiStatus, Event, Obj, ObjectStore, now_rfc3339

RECORDS_FINALIZER = "chaos-mesh/records"
HOST_NETWORK_REFUSAL = "It's dangerous to inject network chaos on a pod({}/{}) with `hostNetwork`"


def _selects(spec: dict[str, Any], pod: Obj) -> bool:
    meta = pod["metadata"]
    if spec.get("pods"):
        return meta["name"] in (spec["pods"].get(meta.get("namespace"), []) or [])
    if spec.get("namespaces") and meta.get("namespace") not in spec["namespaces"]:
        return False
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("labelSelectors") or {}).items()):
        return False
    for req in spec.get("expressionSelectors") or []:
        key, values = req["key"], set(req.get("values") or [])
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[req["operator"]]
        if not ok:
            return False
    return True


def _by_mode(pods: list[Obj], spec: dict[str, Any]) -> list[Obj]:
    mode, value = spec.get("mode", "all"), spec.get("value") or "0"
    if mode == "one":
        return pods[:1]
    if mode == "fixed":
        return pods[: int(value)]
    if mode == "fixed-percent":
        return pods[: math.ceil(len(pods) * int(value) / 100)]
    return pods


def _event(kind: str, message: str = "") -> Obj:
    event: Obj = {"type": kind, "operation": "Apply", "timestamp": now_rfc3339()}
    if message:
        event["message"] = message
    return event


class ChaosMeshController:
    """Watches the emulator's store for chaos objects and plays Chaos Mesh's part (see the module doc)."""

    def __init__(self, store: ObjectStore, chaos_types: tuple[ResourceType, ...], pods: ResourceType, *,
                 delay_s: float = 0.05, recover_delay_s: float = 0.05) -> None:
        self.store = store
        self.chaos_types = {rt.key: rt for rt in chaos_types}
        self.pods = pods
        self.delay_s = delay_s
        self.recover_delay_s = recover_delay_s
        self.injects = True
        self.holds_finalizers = False
        self.unsubscribe = store.subscribe(self._observe)

    def _observe(self, event: Event) -> None:
        _rv, rt, kind, obj = event
        if rt.key not in self.chaos_types or kind == "DELETED":
            return
        meta = obj["metadata"]
        where = (rt, meta.get("namespace", ""), meta["name"])
        if kind == "ADDED":
            self._later(self.delay_s, self._inject, *where)
        elif meta.get("deletionTimestamp") and RECORDS_FINALIZER in (meta.get("finalizers") or []):
            self._later(self.recover_delay_s, self._recover, *where)

    @staticmethod
    def _later(delay: float, fn: Any, *args: Any) -> None:
        timer = threading.Timer(delay, fn, args)
        timer.daemon = True
        timer.start()

    def _inject(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not self.injects:
            return
        try:
            obj = self.store.get(rt, namespace, name)
            if obj["metadata"].get("deletionTimestamp"):
                return
            self.store.update(rt, namespace, name, _with_finalizer)
            status = self._status(rt, obj)
            self.store.update(rt, namespace, name, lambda o: {**o, "status": status},
                              subresource="status" if "status" in rt.subresources else None)
        except ApiStatus:
            return  # deleted meanwhile

    def _status(self, rt: ResourceType, obj: Obj) -> Obj:
        spec = obj.get("spec") or {}
        selected = _by_mode([p for p in self.store.select(self.pods, None) if _selects(spec.get("selector") or {}, p)
                             and not p["metadata"].get("deletionTimestamp")], spec)
        records = []
        for pod in selected:
            pod_id = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            if rt.kind == "StressChaos":
                containers = [c["name"] for c in pod["spec"]["containers"]]
                chosen = [c for c in containers if c in (spec.get("containerNames") or containers[:1])]
                ids = [f"{pod_id}/{c}" for c in chosen]
            else:
                ids = [pod_id]
            for record_id in ids:
                if rt.kind == "NetworkChaos" and (pod.get("spec") or {}).get("hostNetwork"):
                    message = HOST_NETWORK_REFUSAL.format(pod["metadata"]["namespace"], pod["metadata"]["name"])
                    records.append({"id": record_id, "selectorKey": ".", "phase": "Not Injected/Wait",
                                    "injectedCount": 0, "recoveredCount": 0, "events": [_event("Failed", message)]})
                else:
                    records.append({"id": record_id, "selectorKey": ".", "phase": "Injected",
                                    "injectedCount": 1, "recoveredCount": 0, "events": [_event("Succeeded")]})
        all_injected = bool(records) and all(r["phase"] == "Injected" for r in records)
        conditions = [
            {"type": "Selected", "status": "True" if records else "False"},
            {"type": "AllInjected", "status": "True" if all_injected else "False"},
            {"type": "AllRecovered", "status": "False"},
            {"type": "Paused", "status": "False"},
        ]
        return {"conditions": conditions, "experiment": {"desiredPhase": "Run", "containerRecords": records}}

    def release_finalizers(self) -> None:
        """Finish every recovery held back so far (after ``holds_finalizers`` was on)."""
        self.holds_finalizers = False
        for rt in self.chaos_types.values():
            for obj in self.store.select(rt, None):
                if obj["metadata"].get("deletionTimestamp"):
                    self._recover(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def _recover(self, rt: ResourceType, namespace: str, name: str) -> None:
        if self.holds_finalizers or not self.injects:
            return
        try:
            self.store.update(rt, namespace, name, _without_finalizer)
        except ApiStatus:
            return


def _with_finalizer(obj: Obj) -> Obj:
    finalizers = list(obj["metadata"].get("finalizers") or [])
    if RECORDS_FINALIZER not in finalizers:
        finalizers.append(RECORDS_FINALIZER)
    return {**obj, "metadata": {**obj["metadata"], "finalizers": finalizers}}


def _without_finalizer(obj: Obj) -> Obj:
    finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != RECORDS_FINALIZER]
    return {**obj, "metadata": {**obj["metadata"], "finalizers": finalizers}}
