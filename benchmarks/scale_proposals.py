"""The scale fixes as they were measured before adoption; all four are now in the backend itself
(agent/backends/kubernetes: cache.py, view.py, slim.py, api.py ``list(transform=...)``), so
``--with-proposals`` only re-applies equivalents and changes nothing measurable. Kept so the numbers in
the history of docs/benchmarks.md can be reproduced against older backends. Behaviour is the same as
the originals for every input (same objects, same order):

- ``objects_shared``: ``WatchCache.objects`` hands out the cached dicts instead of deep copies. The
  cache never mutates an object in place (a watch event replaces it whole), and every reader (the
  twin, ``ClusterView``, ``cluster_state``) only reads, so a copy per snapshot buys nothing.
- ``IndexedClusterView``: ``pods_of`` looks pods up in a (namespace, label, value) index built once
  per view instead of scanning every pod for every workload (O(workloads x pods) -> O(pods)).
- ``slim`` (``--slim``): the cache keeps only what a snapshot and the faults read, as client-go's
  informer transforms do: no ``metadata.managedFields`` anywhere, no ``status.images`` on Nodes, and
  for a Pod a controller made (which the twin drops as an instance of it) only its identity, labels,
  annotations, owners, node, containers' resources and the status fields ``workload_status`` reads.
  Applied page by page as the list is read (``list_slim``), or the full list is alive at once anyway.
- ``gc.freeze()`` after the fill (``--gc-freeze``), with the cyclic collector paused during it: the
  cached objects are long-lived and hold no cycles, so the collector need not walk them again and again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

from agent.backends.kubernetes import backend as backend_module
from agent.backends.kubernetes import state as state_module
from agent.backends.kubernetes.api import KubeApi, ListResult
from agent.backends.kubernetes.cache import WatchCache, _key
from agent.backends.kubernetes.errors import Gone
from agent.backends.kubernetes.resources import Resource
from agent.backends.kubernetes.slim import slim
from agent.backends.kubernetes.view import (
    ClusterView,
    Obj,
    is_terminating,
    labels_of,
    meta,
    selector_matches,
)


def objects_shared(self: WatchCache, resources: Iterable[Resource] | None = None) -> list[Obj]:
    """The cached objects themselves (read-only by contract), in the same order as before."""
    with self._lock:
        return [o for r in (resources or self._resources) for (res, _ns), shelf in self._shelves.items()
                if res == r for _k, o in sorted(shelf.objects.items())]


class IndexedClusterView(ClusterView):
    def __init__(self, objects: Iterable[Obj]) -> None:
        super().__init__(objects)
        self._by_namespace: dict[Any, list[Obj]] = {}
        self._by_label: dict[tuple[Any, str, str], list[Obj]] = {}
        for pod in self.pods:
            namespace: Any = meta(pod).get("namespace")  # as the original compares it
            self._by_namespace.setdefault(namespace, []).append(pod)
            for k, v in labels_of(pod).items():
                self._by_label.setdefault((namespace, k, v), []).append(pod)

    def pods_of(self, key: str, *, live_only: bool = True) -> list[Obj]:
        workload = self.workloads.get(key)
        if workload is None:
            return []
        namespace = meta(workload).get("namespace", "")
        selector: Any = (workload.get("spec") or {}).get("selector")
        match_labels = (selector or {}).get("matchLabels") or {}
        if match_labels:  # every match must carry each pair: start from the rarest
            candidates = min((self._by_label.get((namespace, k, v), []) for k, v in match_labels.items()), key=len)
        else:
            candidates = self._by_namespace.get(namespace, [])
        pods = [p for p in candidates if selector_matches(selector, labels_of(p))]
        if live_only:
            pods = [p for p in pods if not is_terminating(p)]
        return sorted(pods, key=lambda p: meta(p)["name"])


def list_slim(api: KubeApi, res: Resource, namespace: str | None = None) -> ListResult:
    """``KubeApi.list`` with ``slim`` applied page by page, so at most one full page is alive at a time
    (``list`` holds every full page until the last one is read: the peak is the whole list, unslimmed)."""
    for _restart in range(3):
        items: list[Obj] = []
        token: str | None = None
        try:
            while True:
                page = api.list_page(res, namespace=namespace, limit=api.page_size, continue_token=token)
                for item in page.get("items") or []:
                    item.setdefault("kind", res.kind)
                    item.setdefault("apiVersion", res.api_version)
                    items.append(slim(item))
                metadata = page.get("metadata") or {}
                del page
                token = metadata.get("continue") or None
                if token is None:
                    return ListResult(items, str(metadata.get("resourceVersion", "")))
        except Gone:
            continue
    raise Gone(f"list of {res.plural} kept expiring between pages", status=410, path=res.path())


def _slim_relist(self: WatchCache, scope: tuple[Resource, str | None], shelf: Any) -> None:
    res, namespace = scope
    result = list_slim(self._api, res, namespace)
    with self._changed:
        shelf.objects = {_key(o): o for o in result.items}
        shelf.resource_version = result.resource_version
        shelf.lists += 1
        shelf.error = None
        self._changed.notify_all()
    shelf.synced.set()


_original_apply = WatchCache._apply
_original_start = WatchCache.start


def _slim_apply(self: WatchCache, shelf: Any, kind: str, obj: Obj) -> None:
    _original_apply(self, shelf, kind, slim(obj))


def _start_then_freeze(self: WatchCache, *, timeout_s: float = 60.0) -> None:
    """No cyclic collection while the lists are read (parsed JSON holds no cycles, and each collection
    would walk the growing cache again), then the filled cache is frozen out of later collections."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        _original_start(self, timeout_s=timeout_s)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()


def apply(*, slim_cache: bool = False, gc_freeze: bool = False) -> list[str]:
    """Swap the proposals in (for this process); returns their names for the report."""
    WatchCache.objects = objects_shared  # type: ignore[method-assign]
    state_module.ClusterView = IndexedClusterView  # type: ignore[misc]
    backend_module.ClusterView = IndexedClusterView  # type: ignore[misc]
    names = ["WatchCache.objects without deepcopy", "ClusterView.pods_of from a label index"]
    if slim_cache:
        WatchCache._relist = _slim_relist  # type: ignore[method-assign]
        WatchCache._apply = _slim_apply  # type: ignore[method-assign]
        names.append("the cache keeps slim objects")
    if gc_freeze:
        WatchCache.start = _start_then_freeze  # type: ignore[method-assign]
        names.append("no cyclic GC during the fill, gc.freeze() after it")
    return names
