"""Map the labels of a Prometheus series to the agent's target keys (``ns/Kind/name``, ``Node/name``).

Pods map to their workload by the names Kubernetes controllers give them (kube-state-metrics and
cAdvisor label series with ``namespace`` and ``pod``, not with the owner):
  Deployment ``<name>-<pod-template-hash>-<5 chars>``, StatefulSet ``<name>-<ordinal>``,
  Job ``<name>-<5 chars>`` (indexed Jobs ``<name>-<index>-<5 chars>``).
When several workloads of the namespace fit, the longest name wins (``web-api`` before ``web``); a pod
that fits no pattern but starts with ``<name>-`` goes to the longest such workload. Services map to the
workloads their selector picks; ``model``/``pipeline``/``job`` labels name the workload itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from envs.spec import ClusterSpec, Workload, WorkloadKind, node_key

_SUFFIX = r"[a-z0-9]{5}"
_POD_NAME_TAIL: dict[WorkloadKind, re.Pattern[str]] = {
    "Deployment": re.compile(rf"^[a-z0-9]{{1,10}}-{_SUFFIX}$"),
    "StatefulSet": re.compile(r"^\d+$"),
    "Job": re.compile(rf"^(\d+-)?{_SUFFIX}$"),
}


@dataclass(frozen=True)
class TargetIndex:
    """What the cluster's targets are, to resolve series labels to target keys."""

    workloads: tuple[Workload, ...]
    service_targets: dict[tuple[str, str], tuple[str, ...]]
    """(namespace, Service name) -> keys of the workloads its selector picks."""
    nodes: frozenset[str]

    @classmethod
    def from_spec(cls, spec: ClusterSpec) -> TargetIndex:
        services = {
            (s.namespace, s.name): tuple(
                w.key for w in spec.workloads
                if w.namespace == s.namespace and s.selector.matches(w.template.label_map)
            )
            for s in spec.services
        }
        return cls(workloads=spec.workloads, service_targets=services,
                   nodes=frozenset(n.name for n in spec.nodes))

    def target_keys(self) -> tuple[str, ...]:
        return tuple(w.key for w in self.workloads) + tuple(node_key(n) for n in sorted(self.nodes))

    def workload_of_pod(self, namespace: str, pod: str) -> str | None:
        candidates = [w for w in self.workloads if w.namespace == namespace and pod.startswith(w.name + "-")]
        if not candidates:
            return None
        fitting = [w for w in candidates if _POD_NAME_TAIL[w.kind].fullmatch(pod[len(w.name) + 1:])]
        best = max(fitting or candidates, key=lambda w: len(w.name))
        return best.key

    def workloads_of_service(self, namespace: str, service: str) -> tuple[str, ...]:
        return self.service_targets.get((namespace, service), ())

    def workload_named(self, namespace: str, name: str, kinds: Iterable[WorkloadKind] = ()) -> str | None:
        matches = [w for w in self.workloads if w.namespace == namespace and w.name == name]
        preferred = [w for w in matches if w.kind in tuple(kinds)]
        chosen = preferred or matches
        return chosen[0].key if chosen else None

    def node(self, name: str) -> str | None:
        return node_key(name) if name in self.nodes else None
