"""A watch-based cache of the objects a snapshot needs, so decisions read memory, not the API server.

Each resource is listed once (paged), then watched from the list's resourceVersion in its own thread:
cluster-wide, or, when the agent is confined to some namespaces, once per namespace for namespaced
resources (so namespaced RBAC suffices). A watch that ends (server timeout) or drops (connection cut)
resumes from the last resourceVersion seen; a 410 Gone (history compacted) relists. This is the
informer pattern of client-go, minus bookmarks.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from agent.backends.kubernetes.api import KubeApi, Obj, WatchStream
from agent.backends.kubernetes.errors import Gone, KubernetesApiError
from agent.backends.kubernetes.resources import SNAPSHOT_RESOURCES, Resource
from agent.backends.kubernetes.retry import is_transient
from agent.backends.kubernetes.slim import slim
from agent.errors import BackendError

log = structlog.get_logger(__name__)
MAX_RECONNECT_DELAY_S = 30.0


@dataclass
class _Shelf:
    """The cached objects of one resource and its watch's progress."""

    objects: dict[tuple[str, str], Obj] = field(default_factory=dict)
    resource_version: str | None = None
    synced: threading.Event = field(default_factory=threading.Event)
    lists: int = 0
    watches: int = 0
    stream: WatchStream | None = None
    error: KubernetesApiError | None = None
    failed: bool = False
    """The first list failed for good (RBAC, a resource not served): start() gives up at once."""
    failures: int = 0


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


Watched = tuple[Resource, str | None]
"""A resource and the namespace it is watched in (None: cluster-wide)."""


def watched(resources: Iterable[Resource], namespaces: Iterable[str] = (),
            extra: Iterable[tuple[Resource, str]] = ()) -> tuple[Watched, ...]:
    """What to list and watch: each resource cluster-wide, or per namespace of ``namespaces`` when given
    (cluster-scoped ones stay cluster-wide), plus ``extra`` (resource, namespace) pairs not yet covered."""
    spaces = tuple(dict.fromkeys(namespaces))
    out: list[Watched] = []
    for res in resources:
        out += [(res, ns) for ns in spaces] if res.namespaced and spaces else [(res, None)]
    for res, ns in extra:
        if (res, None) not in out and (res, ns) not in out:
            out.append((res, ns))
    return tuple(out)


class WatchCache:
    def __init__(
        self,
        api: KubeApi,
        resources: Iterable[Resource] = SNAPSHOT_RESOURCES,
        *,
        scopes: Iterable[Watched] | None = None,
        reconnect_delay_s: float = 0.5,
    ) -> None:
        self._api = api
        self._scopes = tuple(scopes) if scopes is not None else watched(resources)
        self._resources = tuple(dict.fromkeys(res for res, _ns in self._scopes))
        self._shelves = {scope: _Shelf() for scope in self._scopes}
        self._lock = threading.RLock()  # a wait_until predicate reads the cache under the lock
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reconnect_delay_s = reconnect_delay_s

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self, *, timeout_s: float = 60.0) -> None:
        """List every resource, start the watches, and return once all are synced.

        No cyclic garbage collection runs during the fill (parsed JSON holds no cycles, and each collection
        would walk the growing cache again: 55 s against 11 s at 150,000 pods); the filled cache is then
        frozen out of later collections.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._fill(timeout_s=timeout_s)
        finally:
            if collecting:
                gc.enable()
        gc.freeze()

    def _fill(self, *, timeout_s: float) -> None:
        for scope in self._scopes:
            res, ns = scope
            name = f"watch-{res.plural}" + (f"-{ns}" if ns else "")
            thread = threading.Thread(target=self._run, args=(scope,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout_s
        for (res, ns), shelf in self._shelves.items():
            while not shelf.synced.wait(0.05) and not shelf.failed and time.monotonic() < deadline:
                pass
            if not shelf.synced.is_set():
                self.stop()
                reason = f": {shelf.error}" if shelf.error else ""
                hint = " (check the agent's RBAC: it lists and watches this resource)" if shelf.failed else ""
                where = f" in namespace {ns}" if ns else ""
                raise BackendError(f"could not list {res.plural}{where} within {timeout_s:g} s{reason}{hint}")

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            streams = [s.stream for s in self._shelves.values() if s.stream is not None]
        for stream in streams:
            stream.close()
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()

    # ---- reads -------------------------------------------------------------------------------
    @property
    def synced(self) -> bool:
        return all(s.synced.is_set() for s in self._shelves.values())

    def objects(self, resources: Iterable[Resource] | None = None) -> list[Obj]:
        """The cached objects (slim ``kubectl get -o json`` items), shared: callers only read them. A watch
        event replaces an object rather than changing it, so a reader's list stays consistent."""
        if not self.synced:
            raise BackendError("the cluster cache is not filled yet: call KubernetesBackend.start() first")
        wanted = tuple(resources or self._resources)
        with self._lock:
            return [o for r in wanted for (res, _ns), shelf in self._shelves.items() if res == r
                    for _k, o in sorted(shelf.objects.items())]

    def stats(self, res: Resource) -> tuple[int, int]:
        """(lists, watch requests) made so far for ``res``, in all its namespaces: a healthy cache lists
        once per namespace."""
        shelves = [shelf for (r, _ns), shelf in self._shelves.items() if r == res]
        return sum(s.lists for s in shelves), sum(s.watches for s in shelves)

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Block until ``predicate()`` holds after some cache change (or now), or the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    # ---- the watch loop ----------------------------------------------------------------------
    def _relist(self, scope: Watched, shelf: _Shelf) -> None:
        res, ns = scope
        result = self._api.list(res, namespace=ns, transform=slim)
        with self._changed:
            shelf.objects = {_key(o): o for o in result.items}
            shelf.resource_version = result.resource_version
            shelf.lists += 1
            shelf.error = None
            self._changed.notify_all()
        shelf.synced.set()

    def _run(self, scope: Watched) -> None:
        shelf = self._shelves[scope]
        res, ns = scope
        while not self._stop.is_set():
            try:
                if shelf.resource_version is None:
                    self._relist(scope, shelf)
                assert shelf.resource_version is not None
                stream = self._api.watch(res, namespace=ns, resource_version=shelf.resource_version)
                with self._lock:
                    shelf.stream = stream
                    shelf.watches += 1
                if self._stop.is_set():
                    stream.close()
                    return
                for event in stream:
                    shelf.failures = 0
                    self._apply(shelf, event.type, event.object)
            except Gone:
                log.info("watch expired, relisting", resource=res.plural)
                shelf.resource_version = None
            except KubernetesApiError as e:
                shelf.error = e
                if self._stop.is_set():
                    return
                if not shelf.synced.is_set() and not is_transient(e):
                    shelf.failed = True
                    return
                shelf.failures += 1
                delay = min(MAX_RECONNECT_DELAY_S, self._reconnect_delay_s * 2 ** min(shelf.failures - 1, 10))
                log.warning("watch failed, reconnecting", resource=res.plural, error=str(e), in_s=round(delay, 2))
                self._stop.wait(delay)
            except Exception as e:  # noqa: BLE001 - the thread's last resort: fail the resource, never hang start()
                if self._stop.is_set():
                    return
                shelf.failed = True
                log.error("watch thread crashed", resource=res.plural, error=repr(e)[:300])
                with self._changed:
                    self._changed.notify_all()
                return

    def _apply(self, shelf: _Shelf, kind: str, obj: Obj) -> None:
        with self._changed:
            if kind == "DELETED":
                shelf.objects.pop(_key(obj), None)
            elif kind in ("ADDED", "MODIFIED"):
                shelf.objects[_key(obj)] = slim(obj)
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv:
                shelf.resource_version = rv
            self._changed.notify_all()
