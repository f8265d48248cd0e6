"""Proposed fixes to the Kubernetes backend's snapshot hot spots, applied only to measure them.

The backend (agent/backends/kubernetes) is not this benchmark's to change; ``scale_snapshot.py
--with-proposals`` swaps these in for one process so the lead can see what each would save before
adopting it. Behaviour is the same as the originals for every input (same objects, same order):

- ``objects_shared``: ``WatchCache.objects`` hands out the cached dicts instead of deep copies. The
  cache never mutates an object in place (a watch event replaces it whole), and every reader (the
  twin, ``ClusterView``, ``cluster_state``) only reads, so a copy per snapshot buys nothing.
- ``IndexedClusterView``: ``pods_of`` looks pods up in a (namespace, label, value) index built once
  per view instead of scanning every pod for every workload (O(workloads x pods) -> O(pods)).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent.backends.kubernetes import backend as backend_module
from agent.backends.kubernetes import state as state_module
from agent.backends.kubernetes.cache import WatchCache
from agent.backends.kubernetes.resources import Resource
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
        return [o for r in (resources or self._resources) for _k, o in sorted(self._shelves[r].objects.items())]


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


def apply() -> list[str]:
    """Swap the proposals in (for this process); returns their names for the report."""
    WatchCache.objects = objects_shared  # type: ignore[method-assign]
    state_module.ClusterView = IndexedClusterView  # type: ignore[misc]
    backend_module.ClusterView = IndexedClusterView  # type: ignore[misc]
    return ["WatchCache.objects without deepcopy", "ClusterView.pods_of from a label index"]
