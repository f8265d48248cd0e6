"""A stand-in for Chaos Mesh's controller on the real API server, with Chaos Mesh's own CRDs.

Chaos Mesh itself cannot run here: its chaos-daemon enters each target container's network namespace
and cgroup, and hollow kubelets run no container. This stand-in polls the NetworkChaos and StressChaos
objects and writes on them what Chaos Mesh's controllers write, as tests/servers/chaos_mesh_status.py
computes it (shared with the emulator's stand-in): the ``chaos-mesh/records`` finalizer first, then the
records of the running pods it selects and the conditions; on deletion (or when ``spec.duration`` has
run out) the records go back to ``Not Injected`` after ``RECOVERY_S`` (Chaos Mesh: a round trip to
chaos-daemon), and only then is the finalizer removed, so a deleted object stays visible until its rules
would have been undone. Writes carry the resourceVersion read, so a conflict waits for the next poll.
``undone_at`` is the truth of when each fault ended in the cluster: the time its records went back to
``Not Injected`` (its rules undone), by the agent's injection label.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

from tests.servers.chaos_mesh_status import (
    RECORDS_FINALIZER,
    finalizers_with,
    finalizers_without,
    injected_status,
    recovered,
    recovered_status,
    select_records,
)
from tests.servers.kubernetes_api import ApiStatus, Obj, RestClient

FINALIZER = RECORDS_FINALIZER
INJECTION_LABEL = "chaos-agent.io/injection-id"
KINDS = {"NetworkChaos": "networkchaos", "StressChaos": "stresschaos"}
RECOVERY_S = 0.3
"""How long the stand-in takes to undo the rules after a deletion."""
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = _DURATION.findall(text)
    return sum(float(n) * scale[u] for n, u in parts) if parts else None


class ChaosMeshStandIn:
    def __init__(self, api: RestClient, *, poll_s: float = 0.1) -> None:
        self.api = api
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._deleting: dict[str, float] = {}
        self.undone_at: dict[str, float] = {}
        """Unix time each fault's records were recovered, by the ``chaos-agent.io/injection-id`` label."""
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

    def _select(self, kind: str, obj: Obj) -> list[Obj] | None:
        spec = obj.get("spec") or {}
        namespaces = (spec.get("selector") or {}).get("namespaces") or [obj["metadata"]["namespace"]]
        running = [p for ns in namespaces for p in self.api.list(f"/api/v1/namespaces/{ns}/pods")
                   if p["status"].get("phase") == "Running"]
        return select_records(kind, obj, running)

    def _reconcile(self, kind: str, plural: str, obj: Obj) -> None:
        meta = obj["metadata"]
        path = self._path(plural, obj)
        status = obj.get("status") or {}
        records = (status.get("experiment") or {}).get("containerRecords")
        created = dt.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")).timestamp()
        duration = _seconds((obj.get("spec") or {}).get("duration"))
        expired = duration is not None and dt.datetime.now(dt.UTC).timestamp() > created + duration
        if meta.get("deletionTimestamp") or expired:
            self._recover(path, obj, records, deleting=bool(meta.get("deletionTimestamp")))
            return
        if FINALIZER not in (meta.get("finalizers") or []):
            self.api.patch(path, {"metadata": {"finalizers": finalizers_with(obj),
                                               "resourceVersion": meta["resourceVersion"]}})
            return
        if records is None:
            selected = self._select(kind, obj)
            if selected is None and status.get("conditions"):
                return  # nothing to select yet: Chaos Mesh tries again when something changes
            self.api.patch(path, {"metadata": {"resourceVersion": meta["resourceVersion"]},
                                  "status": injected_status(selected)})

    def _recover(self, path: str, obj: Obj, records: list[Obj] | None, *, deleting: bool) -> None:
        meta = obj["metadata"]
        if records is not None and recovered(records) != records:
            started = self._deleting.setdefault(meta["uid"], time.monotonic())
            if time.monotonic() - started < RECOVERY_S:
                return
            self.api.patch(path, {"metadata": {"resourceVersion": meta["resourceVersion"]},
                                  "status": recovered_status(records)})
            mark = (meta.get("labels") or {}).get(INJECTION_LABEL)
            if mark:
                self.undone_at.setdefault(mark, time.time())
            return
        if deleting and FINALIZER in (meta.get("finalizers") or []):
            self.api.patch(path, {"metadata": {"finalizers": finalizers_without(obj),
                                               "resourceVersion": meta["resourceVersion"]}})
            self._deleting.pop(meta["uid"], None)
