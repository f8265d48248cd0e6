"""A read-only view over raw cluster objects: which pods belong to which workload, what runs where.

Pods belong to a workload when they sit in its namespace and match its ``spec.selector``, as
``kubectl get pods -l`` (and the ReplicaSet, StatefulSet and Job controllers) see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from envs.spec import workload_key

Obj = dict[str, Any]


class LabelSelectorDict(TypedDict, total=False):
    matchLabels: dict[str, str]
    matchExpressions: list[dict[str, Any]]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector; an empty or absent one selects nothing (as for PDBs and Services here)."""
    if not selector:
        return False
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for req in expressions:
        key, op, values = req.get("key", ""), req.get("operator"), set(req.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def meta(obj: Obj) -> dict[str, Any]:
    return obj.get("metadata") or {}


def labels_of(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def is_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp")) or (pod.get("status") or {}).get("phase") in (
        "Succeeded",
        "Failed",
    )


def is_ready(obj: Obj) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def parse_quantity_int(value: Any) -> int:
    """An integer resource quantity such as ``nvidia.com/gpu: "4"`` (extended resources are integers)."""
    try:
        return int(str(value))
    except ValueError:
        return 0


class ClusterView:
    def __init__(self, objects: Iterable[Obj]) -> None:
        self.nodes: dict[str, Obj] = {}
        self.pods: list[Obj] = []
        self.workloads: dict[str, Obj] = {}
        self.services: list[Obj] = []
        for obj in objects:
            kind = obj.get("kind")
            if kind == "Node":
                self.nodes[meta(obj)["name"]] = obj
            elif kind == "Pod":
                self.pods.append(obj)
            elif kind in ("Deployment", "StatefulSet", "Job"):
                self.workloads[workload_key(meta(obj).get("namespace", ""), kind, meta(obj)["name"])] = obj
            elif kind == "Service":
                self.services.append(obj)
        # Indexes for pods_of: a scan of every pod per workload is W x P (2e9 checks at 150,000 pods).
        self._by_namespace: dict[Any, list[Obj]] = {}
        self._by_label: dict[tuple[Any, str, str], list[Obj]] = {}
        for pod in self.pods:
            namespace: Any = meta(pod).get("namespace")
            self._by_namespace.setdefault(namespace, []).append(pod)
            for k, v in labels_of(pod).items():
                self._by_label.setdefault((namespace, k, v), []).append(pod)

    def workload(self, key: str) -> Obj | None:
        return self.workloads.get(key)

    def node(self, key_or_name: str) -> Obj | None:
        return self.nodes.get(key_or_name.removeprefix("Node/"))

    def pods_of(self, key: str, *, live_only: bool = True) -> list[Obj]:
        workload = self.workloads.get(key)
        if workload is None:
            return []
        pods = self.pods_matching(meta(workload).get("namespace", ""), workload.get("spec") or {})
        if live_only:
            pods = [p for p in pods if not is_terminating(p)]
        return sorted(pods, key=lambda p: meta(p)["name"])

    def pods_matching(self, namespace: str, spec: dict[str, Any]) -> list[Obj]:
        """Pods of ``namespace`` that ``spec.selector`` selects (terminating ones included), starting from
        the rarest of its matchLabels pairs in the index."""
        selector = spec.get("selector")
        match_labels = (selector or {}).get("matchLabels") or {} if isinstance(selector, dict) else {}
        if match_labels:
            candidates = min((self._by_label.get((namespace, k, v), []) for k, v in match_labels.items()), key=len)
        else:
            candidates = self._by_namespace.get(namespace, [])
        return [p for p in candidates if selector_matches(selector, labels_of(p))]

    def pods_in(self, namespace: str) -> list[Obj]:
        """The live pods of ``namespace``."""
        return [p for p in self._by_namespace.get(namespace, []) if not is_terminating(p)]

    def pods_on(self, node_name: str) -> list[Obj]:
        return sorted(
            (p for p in self.pods if (p.get("spec") or {}).get("nodeName") == node_name and not is_terminating(p)),
            key=lambda p: (meta(p).get("namespace", ""), meta(p)["name"]),
        )
