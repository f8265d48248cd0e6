"""A stand-in for Chaos Mesh's controller-manager, so the emulator answers chaos objects as a cluster does.

What the agent reads of Chaos Mesh (records, conditions, finalizer), computed by
tests/servers/chaos_mesh_status.py, which the stand-in on the real API server (tests/e2e/chaos_mesh.py)
shares: shortly after an object is created it gets the ``chaos-mesh/records`` finalizer and a status
with one record per selected pod (per container for a StressChaos), each ``Injected``, or ``Not
Injected/Wait`` with Chaos Mesh's refusal for a NetworkChaos on a hostNetwork pod. A deleted object goes
once the records are recovered: its finalizer is removed after ``recover_delay_s``. Tests switch parts
off: ``injects = False`` (the controller is down: no status, no finalizer removal),
``holds_finalizers = True`` (recovery never finishes).
"""

from __future__ import annotations

import threading
from typing import Any

from tests.emulator.resources import ResourceType
from tests.emulator.store import ApiStatus, Event, Obj, ObjectStore
from tests.servers.chaos_mesh_status import (
    RECORDS_FINALIZER,
    finalizers_with,
    finalizers_without,
    injected_status,
    select_records,
)


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
        return injected_status(select_records(rt.kind, obj, self.store.select(self.pods, None)))

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
    return {**obj, "metadata": {**obj["metadata"], "finalizers": finalizers_with(obj)}}


def _without_finalizer(obj: Obj) -> Obj:
    return {**obj, "metadata": {**obj["metadata"], "finalizers": finalizers_without(obj)}}
