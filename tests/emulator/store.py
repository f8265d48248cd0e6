"""The emulator's state: objects with the metadata a real API server keeps, and the change history.

Every write gets the next ``resourceVersion`` (one counter for all kinds, like etcd's revision) and an
event in a bounded history that watches replay from; a watch or continue token older than the
history answers 410 Gone, as after an etcd compaction. Resources with a ``status`` subresource keep
status and spec apart: the main resource ignores status changes and ``/status`` changes only status.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.emulator.patching import merge_patch, strategic_merge_patch
from tests.emulator.resources import ResourceType
from tests.emulator.selectors import field_values, parse_selector

Obj = dict[str, Any]
Event = tuple[int, ResourceType, str, Obj]
Subscriber = Callable[[Event], None]


class ApiStatus(Exception):
    """An error answer: rendered as a ``Status`` object with this HTTP code."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def now_rfc3339(micro: bool = False) -> str:
    t = dt.datetime.now(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _not_found(rt: ResourceType, name: str) -> ApiStatus:
    return ApiStatus(
        404,
        "NotFound",
        f'{rt.plural}{"." + rt.group if rt.group else ""} "{name}" not found',
        {"name": name, "group": rt.group, "kind": rt.plural},
    )


@dataclass
class ListPage:
    items: list[Obj]
    resource_version: int
    continue_token: str | None
    remaining: int


class ObjectStore:
    def __init__(self, history_limit: int = 10_000) -> None:
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._types: dict[str, ResourceType] = {}
        self._rv = 0
        self._history: list[Event] = []
        self._history_limit = history_limit
        self._compacted = 0
        self._subscribers: list[Subscriber] = []

    # ---- bookkeeping -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)
        return lambda: self._unsubscribe(fn)

    def _unsubscribe(self, fn: Subscriber) -> None:
        with self._lock:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

    def compact(self) -> None:
        """Forget the history, so every older watch or continue token gets 410 Gone."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv

    def _record(self, rt: ResourceType, kind: str, obj: Obj) -> None:
        event: Event = (self._rv, rt, kind, copy.deepcopy(obj))
        self._history.append(event)
        if len(self._history) > self._history_limit:
            dropped = self._history.pop(0)
            self._compacted = dropped[0]
        for fn in list(self._subscribers):
            fn(event)

    def history_since(self, rv: int, rt: ResourceType) -> list[Event]:
        with self._lock:
            if rv < self._compacted:
                raise ApiStatus(410, "Expired", f"too old resource version: {rv} ({self._compacted})")
            return [e for e in self._history if e[0] > rv and e[1].key == rt.key]

    # ---- reads -------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        with self._lock:
            obj = self._objects.get((rt.key, namespace, name))
            if obj is None:
                raise _not_found(rt, name)
            return copy.deepcopy(obj)

    def select(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        try:
            labels_ok, fields_ok = parse_selector(label_selector), parse_selector(field_selector)
        except ValueError as e:
            raise ApiStatus(400, "BadRequest", str(e)) from e
        with self._lock:
            out = []
            for (key, ns, _name), obj in sorted(self._objects.items()):
                if key != rt.key or (namespace is not None and ns != namespace):
                    continue
                if labels_ok(obj["metadata"].get("labels") or {}) and fields_ok(field_values(obj)):
                    out.append(copy.deepcopy(obj))
            return out

    def list_page(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None,
        field_selector: str | None,
        limit: int | None,
        continue_token: str | None,
    ) -> ListPage:
        with self._lock:
            items = self.select(rt, namespace, label_selector, field_selector)
            rv, start = self._rv, None
            if continue_token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(continue_token))
                    rv, start = int(state["rv"]), tuple(state["start"])
                except (ValueError, KeyError, TypeError) as e:
                    raise ApiStatus(400, "BadRequest", f"invalid continue token: {e}") from e
                if rv < self._compacted:
                    raise ApiStatus(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to "
                        "display a consistent list result. You can start a new list "
                        "without the continue parameter.",
                    )
                items = [o for o in items if _pos(o) > start]
            if not limit or limit >= len(items):
                return ListPage(items, rv, None, 0)
            page = items[:limit]
            token = base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": list(_pos(page[-1]))}).encode()).decode()
            return ListPage(page, rv, token, len(items) - limit)

    # ---- writes ------------------------------------------------------------------------------
    def register(self, rt: ResourceType) -> None:
        with self._lock:
            self._types[rt.key] = rt

    def create(self, rt: ResourceType, namespace: str, body: Obj, *, keep_status: bool = False) -> Obj:
        with self._lock:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise ApiStatus(422, "Invalid", f"{rt.kind} is invalid: metadata.name: Required value")
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta["name"]
            key = (rt.key, namespace if rt.namespaced else "", name)
            if key in self._objects:
                raise ApiStatus(
                    409,
                    "AlreadyExists",
                    f'{rt.plural} "{name}" already exists',
                    {"name": name, "kind": rt.plural},
                )
            if rt.namespaced:
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            if rt.kind == "Pod" and not (obj.get("spec") or {}).get("containers"):
                raise ApiStatus(422, "Invalid", f'Pod "{name}" is invalid: spec.containers: Required value')
            if "status" in rt.subresources and not keep_status:
                obj.pop("status", None)
            self._rv += 1
            obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
            meta.update(
                uid=str(uuid.uuid4()),
                resourceVersion=str(self._rv),
                generation=1,
                creationTimestamp=meta.get("creationTimestamp") or now_rfc3339(),
            )
            _omit_empty(meta)
            self._objects[key] = obj
            self._record(rt, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        change: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        precondition_rv: str | None = None,
    ) -> Obj:
        """Apply ``change`` to the stored object under the rules of its (sub)resource."""
        with self._lock:
            key = (rt.key, namespace if rt.namespaced else "", name)
            current = self._objects.get(key)
            if current is None:
                raise _not_found(rt, name)
            if precondition_rv and precondition_rv != current["metadata"]["resourceVersion"]:
                raise ApiStatus(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {rt.plural} "{name}": '
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again",
                    {"name": name, "kind": rt.plural},
                )
            proposed = change(copy.deepcopy(current))
            new = copy.deepcopy(current)
            if subresource == "status":
                new["status"] = proposed.get("status", {})
            else:
                for k, v in proposed.items():
                    if k not in ("metadata", "status", "apiVersion", "kind") or (
                        k == "status" and "status" not in rt.subresources
                    ):
                        new[k] = v
                for k in [
                    k for k in new if k not in proposed and k not in ("metadata", "status", "apiVersion", "kind")
                ]:
                    del new[k]
                meta = dict(proposed.get("metadata", {}))
                for fixed in (
                    "uid",
                    "creationTimestamp",
                    "namespace",
                    "name",
                    "generation",
                    "resourceVersion",
                    "deletionTimestamp",
                ):
                    meta.pop(fixed, None)
                new["metadata"] = {
                    **{
                        k: v
                        for k, v in current["metadata"].items()
                        if k
                        in (
                            "uid",
                            "creationTimestamp",
                            "namespace",
                            "name",
                            "generation",
                            "deletionTimestamp",
                        )
                    },
                    **meta,
                }
                if new.get("spec") != current.get("spec"):
                    new["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
            _omit_empty(new["metadata"])
            if new == current:
                return copy.deepcopy(current)  # a no-op write does not bump resourceVersion
            self._rv += 1
            new["metadata"]["resourceVersion"] = str(self._rv)
            if current["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                del self._objects[key]
                self._record(rt, "DELETED", new)
                return copy.deepcopy(new)
            self._objects[key] = new
            self._record(rt, "MODIFIED", new)
            return copy.deepcopy(new)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch: Obj,
        *,
        strategic: bool,
        subresource: str | None = None,
    ) -> Obj:
        if not isinstance(patch, dict):
            raise ApiStatus(400, "BadRequest", "a merge patch must be a JSON object")

        def change(obj: Obj) -> Obj:
            try:
                merged = strategic_merge_patch(obj, patch) if strategic else merge_patch(obj, patch)
            except ValueError as e:
                raise ApiStatus(422, "Invalid", str(e)) from e
            return dict(merged)

        precondition = (patch.get("metadata") or {}).get("resourceVersion")
        return self.update(rt, namespace, name, change, subresource=subresource, precondition_rv=precondition)

    def replace(self, rt: ResourceType, namespace: str, name: str, body: Obj, *, subresource: str | None = None) -> Obj:
        precondition = (body.get("metadata") or {}).get("resourceVersion")
        return self.update(
            rt,
            namespace,
            name,
            lambda _obj: copy.deepcopy(body),
            subresource=subresource,
            precondition_rv=precondition,
        )

    def delete(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        with self._lock:
            key = (rt.key, namespace if rt.namespaced else "", name)
            obj = self._objects.get(key)
            if obj is None:
                raise _not_found(rt, name)
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            if obj["metadata"].get("finalizers"):
                obj["metadata"].setdefault("deletionTimestamp", now_rfc3339())
                self._objects[key] = obj
                self._record(rt, "MODIFIED", obj)
            else:
                del self._objects[key]
                self._record(rt, "DELETED", obj)
            return copy.deepcopy(obj)


def _omit_empty(meta: Obj) -> None:
    """Empty maps and lists are ``omitempty`` in the API's Go types: absent from the JSON."""
    for key in ("labels", "annotations", "finalizers", "ownerReferences"):
        if key in meta and not meta[key]:
            del meta[key]


def _pos(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
