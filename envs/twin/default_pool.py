"""The node pool the twin invents when the input has no Node objects.

Nodes are spread round-robin over three zones, as a regional cluster's pools are. General nodes are
4 CPU / 16 GiB (the common 4-vCPU machine size); GPU nodes are 16 CPU / 64 GiB / 4 GPUs. A group of
nodes is sized so that (a) every pod fits (first-fit decreasing), (b) requests use at most 70% of
each resource, leaving room to reschedule the pods of a lost node, and (c) required hostname
anti-affinity has a node per replica; the general group has at least 3 nodes (one per zone).
Workloads whose nodeSelector or required node affinity asks for labels get a group carrying them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from envs.spec import HOSTNAME_LABEL, ZONE_LABEL, NodeSpec, PodTemplate
from envs.twin.nodes import DAEMONSET_TOLERATED, DaemonSetDraft, placement_allows

ZONES = ("zone-a", "zone-b", "zone-c")
REGION_LABEL = "topology.kubernetes.io/region"
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
MAX_UTILISATION = 0.7
_PLACEMENT_KEYS = frozenset({HOSTNAME_LABEL, ZONE_LABEL, REGION_LABEL})


@dataclass(frozen=True)
class PoolDemand:
    """One workload's pods as the pool must hold them."""

    describe: str
    replicas: int
    template: PodTemplate


@dataclass(frozen=True)
class NodeShape:
    cpu_millis: int
    memory_mib: int
    gpus: int


GENERAL = NodeShape(4000, 16384, 0)
GPU = NodeShape(16000, 65536, 4)


def _base_labels(gpu: bool) -> dict[str, str]:
    labels = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", REGION_LABEL: "region-1"}
    if gpu:
        labels[GPU_PRESENT_LABEL] = "true"
    return labels


def _group_labels(template: PodTemplate) -> tuple[tuple[str, str], ...]:
    """Labels a generated node needs beyond the base ones to satisfy the pod's node constraints."""
    base = _base_labels(template.gpus > 0)
    extra = {k: v for k, v in template.node_selector if k not in _PLACEMENT_KEYS and base.get(k) != v}
    if template.node_affinity:
        labels = {**base, **extra}
        if not any(
            all(r.matches(labels) for r in term if r.key not in _PLACEMENT_KEYS)
            for term in template.node_affinity
        ):
            for req in template.node_affinity[0]:
                if req.key in _PLACEMENT_KEYS:
                    continue
                if req.operator == "In" and req.values:
                    extra[req.key] = req.values[0]
                elif req.operator == "Exists":
                    extra[req.key] = "true"
    return tuple(sorted(extra.items()))


def _slug(labels: tuple[tuple[str, str], ...]) -> str:
    text = "-".join(v for _, v in labels).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:30] or "labelled"


def _fits_first_fit(pods: list[PodTemplate], count: int, shape: NodeShape) -> bool:
    free = [[shape.cpu_millis, shape.memory_mib, shape.gpus] for _ in range(count)]
    for pod in sorted(pods, key=lambda p: (p.gpus, p.cpu_millis, p.memory_mib), reverse=True):
        for room in free:
            if room[0] >= pod.cpu_millis and room[1] >= pod.memory_mib and room[2] >= pod.gpus:
                room[0] -= pod.cpu_millis
                room[1] -= pod.memory_mib
                room[2] -= pod.gpus
                break
        else:
            return False
    return True


def _shape_for(pods: list[PodTemplate], gpu: bool, overhead: NodeShape) -> NodeShape:
    base = GPU if gpu else GENERAL
    factor = 1
    while not all(
        p.cpu_millis + overhead.cpu_millis <= base.cpu_millis * factor
        and p.memory_mib + overhead.memory_mib <= base.memory_mib * factor
        and p.gpus <= base.gpus * factor
        for p in pods
    ):
        factor *= 2
    return NodeShape(base.cpu_millis * factor, base.memory_mib * factor, base.gpus * factor)


def _node_count(demands: Sequence[PoolDemand], usable: NodeShape, minimum: int) -> int:
    pods = [d.template for d in demands for _ in range(d.replicas)]
    need = [
        math.ceil(sum(p.cpu_millis for p in pods) / (usable.cpu_millis * MAX_UTILISATION)),
        math.ceil(sum(p.memory_mib for p in pods) / (usable.memory_mib * MAX_UTILISATION)),
        math.ceil(sum(p.gpus for p in pods) / (usable.gpus * MAX_UTILISATION)) if usable.gpus else 0,
    ]
    spread = [
        d.replicas
        for d in demands
        for a in d.template.anti_affinity
        if a.required and a.topology_key == HOSTNAME_LABEL
    ]
    count = max([minimum, *need, *spread])
    while not _fits_first_fit(pods, count, usable):
        count += 1
    return count


def default_pool(
    demands: Sequence[PoolDemand], daemonsets: Sequence[DaemonSetDraft]
) -> tuple[list[NodeSpec], str]:
    """The generated nodes (before DaemonSet overhead is taken off) and a note that says what and why."""
    groups: dict[tuple[bool, tuple[tuple[str, str], ...]], list[PoolDemand]] = {(False, ()): []}
    for d in demands:
        groups.setdefault((d.template.gpus > 0, _group_labels(d.template)), []).append(d)
    nodes: list[NodeSpec] = []
    parts: list[str] = []
    for (gpu, extra), members in sorted(groups.items()):
        if gpu or extra:
            name = ("gpu" if gpu else "") + (("-" if gpu else "") + _slug(extra) if extra else "")
        else:
            name = "general"
        labels = {**_base_labels(gpu), **dict(extra)}
        probe = NodeSpec(name="probe", labels=tuple(labels.items()))
        hosted = [
            d.template
            for d in daemonsets
            if placement_allows(d.template, probe, extra_tolerated=DAEMONSET_TOLERATED)
        ]
        overhead = NodeShape(
            sum(t.cpu_millis for t in hosted), sum(t.memory_mib for t in hosted), sum(t.gpus for t in hosted)
        )
        shape = _shape_for([d.template for d in members], gpu, overhead)
        usable = NodeShape(
            shape.cpu_millis - overhead.cpu_millis,
            shape.memory_mib - overhead.memory_mib,
            shape.gpus - overhead.gpus,
        )
        count = _node_count(members, usable, len(ZONES) if name == "general" else 1)
        if name == "general":
            count = math.ceil(count / len(ZONES)) * len(ZONES)
        for i in range(count):
            node_name = f"{name}-{i + 1}"
            node_labels = {**labels, HOSTNAME_LABEL: node_name, ZONE_LABEL: ZONES[i % len(ZONES)]}
            nodes.append(
                NodeSpec(
                    name=node_name,
                    cpu_millis=shape.cpu_millis,
                    memory_mib=shape.memory_mib,
                    gpus=shape.gpus,
                    labels=tuple(sorted(node_labels.items())),
                )
            )
        gpu_text = f", {shape.gpus} nvidia.com/gpu" if shape.gpus else ""
        label_text = " labelled " + ",".join(f"{k}={v}" for k, v in extra) if extra else ""
        parts.append(
            f"{count} x {name} ({shape.cpu_millis // 1000} CPU, {shape.memory_mib // 1024} GiB"
            f"{gpu_text}){label_text}"
        )
    note = (
        "no Node objects in the input: made a default pool of "
        + "; ".join(parts)
        + f" over zones {', '.join(ZONES)}, sized so every pod fits and requests use at most "
        f"{MAX_UTILISATION:.0%} of any resource (room to reschedule a lost node's pods); "
        "add Node objects to model the real cluster"
    )
    return nodes, note
