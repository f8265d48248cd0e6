"""What Chaos Mesh's controller does to a NetworkChaos or StressChaos, as seen through the API server.

Chaos Mesh itself cannot run here: its chaos-daemon enters each target container's network namespace
and cgroup, and hollow kubelets run no container. This stand-in reproduces, on the real objects (whose
schema is Chaos Mesh's own CRD), the status protocol of its controllers (controllers/common/finalizers,
records and condition in github.com/chaos-mesh/chaos-mesh): the ``chaos-mesh/records`` finalizer is
added; ``status.experiment.containerRecords`` gets one record per selected pod in phase ``Injected``
(``desiredPhase: Run``); the conditions Selected, AllInjected, AllRecovered and Paused follow the records
as ``diffConditions`` computes them. On deletion (or when ``spec.duration`` has run out), the records go
to ``Not Injected`` first, and only then is the finalizer removed, so a deleted object stays visible
until its rules would have been undone. A pod with ``hostNetwork`` cannot be injected by NetworkChaos:
its record stays ``Not Injected``, as Chaos Mesh leaves it, with a Failed event in its record.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

from tests.servers.kubernetes_api import ApiStatus, Obj, RestClient

FINALIZER = "chaos-mesh/records"
KINDS = {"NetworkChaos": "networkchaos", "StressChaos": "stresschaos"}
RECOVERY_S = 0.3
"""How long the stand-in takes to undo the rules after a deletion (Chaos Mesh: a round trip to chaos-daemon)."""
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = _DURATION.findall(text)
    return sum(float(n) * scale[u] for n, u in parts) if parts else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _matches(labels: dict[str, str], selector: dict[str, Any]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("labelSelectors") or {}).items()):
        return False
    for expr in selector.get("expressionSelectors") or []:
        value, values = labels.get(expr["key"]), expr.get("values") or []
        op = expr["operator"]
        if (op == "In" and value not in values) or (op == "NotIn" and value in values) \
                or (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def conditions_for(records: list[Obj] | None, paused: bool = False) -> list[Obj]:
    """Chaos Mesh's ``diffConditions``: the four conditions from the records."""
    def status(flag: bool) -> str:
        return "True" if flag else "False"

    return [
        {"type": "Selected", "status": status(records is not None)},
        {"type": "AllInjected", "status": status(records is not None and all(r["phase"] == "Injected"
                                                                             for r in records))},
        {"type": "AllRecovered", "status": status(records is not None and all(r["phase"] == "Not Injected"
                                                                              for r in records))},
        {"type": "Paused", "status": status(paused)},
    ]


class ChaosMeshStandIn:
    def __init__(self, api: RestClient, *, poll_s: float = 0.2) -> None:
        self.api = api
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._deleting: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="chaos-mesh-stand-in", daemon=True)
        self.errors: list[str] = []

    def start(self) -> ChaosMeshStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            for kind, plural in KINDS.items():
                try:
                    for obj in self.api.list(f"/apis/chaos-mesh.org/v1alpha1/{plural}"):
                        self._reconcile(kind, plural, obj)
                except ApiStatus as e:
                    if e.code not in (404, 409):  # gone meanwhile, or changed meanwhile: next round
                        self.errors.append(str(e))

    def _path(self, plural: str, obj: Obj) -> str:
        meta = obj["metadata"]
        return f"/apis/chaos-mesh.org/v1alpha1/namespaces/{meta['namespace']}/{plural}/{meta['name']}"

    def _select(self, kind: str, obj: Obj) -> list[Obj]:
        spec = obj.get("spec") or {}
        selector = spec.get("selector") or {}
        namespaces = selector.get("namespaces") or [obj["metadata"]["namespace"]]
        pods = [p for ns in namespaces for p in self.api.list(f"/api/v1/namespaces/{ns}/pods")
                if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
                and _matches(p["metadata"].get("labels") or {}, selector)]
        pods.sort(key=lambda p: p["metadata"]["name"])
        if spec.get("mode") == "one":
            pods = pods[:1]
        elif spec.get("mode") == "fixed":
            pods = pods[:int(spec.get("value") or 1)]
        records = []
        for pod in pods:
            refused = kind == "NetworkChaos" and pod["spec"].get("hostNetwork")
            event = {"operation": "Apply", "timestamp": _now(), "type": "Failed" if refused else "Succeeded"}
            if refused:
                event["message"] = "it's dangerous to inject network chaos on a pod with hostNetwork"
            records.append({"id": f"{pod['metadata']['namespace']}/{pod['metadata']['name']}",
                            "selectorKey": ".", "phase": "Not Injected" if refused else "Injected",
                            "injectedCount": 0 if refused else 1, "recoveredCount": 0, "events": [event]})
        return records

    def _reconcile(self, kind: str, plural: str, obj: Obj) -> None:
        meta = obj["metadata"]
        path = self._path(plural, obj)
        finalizers = list(meta.get("finalizers") or [])
        status = obj.get("status") or {}
        records = (status.get("experiment") or {}).get("containerRecords")
        created = dt.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")).timestamp()
        duration = _seconds((obj.get("spec") or {}).get("duration"))
        expired = duration is not None and dt.datetime.now(dt.UTC).timestamp() > created + duration
        if meta.get("deletionTimestamp") or expired:
            self._recover(path, obj, records, finalizers, deleting=bool(meta.get("deletionTimestamp")))
            return
        if FINALIZER not in finalizers:
            self.api.patch(path, {"metadata": {"finalizers": [*finalizers, FINALIZER],
                                               "resourceVersion": meta["resourceVersion"]}})
            return
        if records is None:
            records = self._select(kind, obj)
            self.api.patch(path, {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": {
                "experiment": {"desiredPhase": "Run", "containerRecords": records},
                "conditions": conditions_for(records)}})

    def _recover(self, path: str, obj: Obj, records: list[Obj] | None, finalizers: list[str], *,
                 deleting: bool) -> None:
        meta = obj["metadata"]
        recovered = [{**r, "phase": "Not Injected", "recoveredCount": r["recoveredCount"] + (r["phase"] == "Injected")}
                     for r in records or []]
        if records is not None and recovered != records:
            started = self._deleting.setdefault(meta["uid"], time.monotonic())
            if time.monotonic() - started < RECOVERY_S:
                return
            self.api.patch(path, {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": {
                "experiment": {"desiredPhase": "Stop", "containerRecords": recovered},
                "conditions": conditions_for(recovered)}})
            return
        if deleting and FINALIZER in finalizers:
            self.api.patch(path, {"metadata": {"finalizers": [f for f in finalizers if f != FINALIZER],
                                               "resourceVersion": meta["resourceVersion"]}})
            self._deleting.pop(meta["uid"], None)
