"""Nodes: read as they are, less what DaemonSets reserve on them.

Allocatable (falling back to capacity) gives cpu, memory and ``nvidia.com/gpu``; labels, taints and
``spec.unschedulable`` are kept, with the legacy zone label copied to ``topology.kubernetes.io/zone``
and ``kubernetes.io/hostname`` added when missing, as the kubelet would. DaemonSet pods are not
workloads in the twin: their requests are taken off every node they would run on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from envs.spec import (
    GPU_RESOURCE,
    HOSTNAME_LABEL,
    ZONE_LABEL,
    NodeSpec,
    PodTemplate,
    Taint,
    Toleration,
)
from envs.twin.fields import Fields, Malformed
from envs.twin.notes import Notes
from envs.twin.objects import ObjectId
from envs.twin.pods import TAINT_EFFECTS
from envs.twin.quantities import cpu_millis, memory_mib, whole_count

LEGACY_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone"
# Taints a DaemonSet pod tolerates without saying so (the DaemonSet controller adds these).
DAEMONSET_TOLERATED = frozenset(
    {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/unschedulable",
        "node.kubernetes.io/network-unavailable",
    }
)


@dataclass(frozen=True)
class DaemonSetDraft:
    describe: str
    template: PodTemplate


def read_node(oid: ObjectId, obj: Mapping[str, object], notes: Notes) -> NodeSpec:
    root = Fields.of(obj, "")
    status, spec = root.sub("status"), root.sub("spec")
    allocatable, capacity = status.sub("allocatable"), status.sub("capacity")
    defaults = NodeSpec(name=oid.name)

    def amount(name: str, parse: Callable[[object], int]) -> int | None:
        source = allocatable if allocatable.has(name) else capacity
        value = source.raw(name)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as e:
            raise Malformed(f"{source.path}.{name}", value, f"a quantity ({e})") from e

    cpu = amount("cpu", cpu_millis)
    memory = amount("memory", memory_mib)
    gpus = amount(GPU_RESOURCE, whole_count)
    if cpu is None or memory is None:
        notes.add(
            f"Node {oid.name}: no status.allocatable or status.capacity for "
            + " and ".join(n for n, v in (("cpu", cpu), ("memory", memory)) if v is None)
            + f"; assumed {defaults.cpu_millis}m CPU and {defaults.memory_mib}Mi memory"
        )
    labels = root.sub("metadata").string_map("labels")
    if ZONE_LABEL not in labels and LEGACY_ZONE_LABEL in labels:
        labels[ZONE_LABEL] = labels[LEGACY_ZONE_LABEL]
    labels.setdefault(HOSTNAME_LABEL, oid.name)
    taints = []
    for t in spec.subs("taints"):
        effect = t.text("effect")
        if effect not in TAINT_EFFECTS:
            raise Malformed(f"{t.path}.effect", effect, "one of " + ", ".join(TAINT_EFFECTS))
        taints.append(Taint(key=t.text("key"), effect=effect, value=t.text("value")))
    return NodeSpec(
        name=oid.name,
        cpu_millis=defaults.cpu_millis if cpu is None else cpu,
        memory_mib=defaults.memory_mib if memory is None else memory,
        gpus=gpus or 0,
        labels=tuple(sorted(labels.items())),
        taints=tuple(taints),
        unschedulable=spec.flag("unschedulable"),
    )


def placement_allows(
    template: PodTemplate, node: NodeSpec, *, extra_tolerated: frozenset[str] = frozenset()
) -> bool:
    """nodeSelector, required node affinity and NoSchedule/NoExecute taints (not resources)."""
    labels = node.label_map
    if any(labels.get(k) != v for k, v in template.node_selector):
        return False
    if template.node_affinity and not any(
        all(r.matches(labels) for r in term) for term in template.node_affinity
    ):
        return False
    tolerations = (*template.tolerations, *(Toleration(key=k, operator="Exists") for k in extra_tolerated))
    return all(
        taint.effect == "PreferNoSchedule" or any(t.tolerates(taint) for t in tolerations)
        for taint in node.taints
    )


def daemonset_overhead(
    nodes: Sequence[NodeSpec], daemonsets: Sequence[DaemonSetDraft], notes: Notes
) -> list[NodeSpec]:
    """Each node less the requests of the DaemonSet pods it would run."""
    out = []
    for node in nodes:
        running = [
            d for d in daemonsets if placement_allows(d.template, node, extra_tolerated=DAEMONSET_TOLERATED)
        ]
        cpu = node.cpu_millis - sum(d.template.cpu_millis for d in running)
        memory = node.memory_mib - sum(d.template.memory_mib for d in running)
        gpus = node.gpus - sum(d.template.gpus for d in running)
        if min(cpu, memory, gpus) < 0:
            notes.add(f"Node {node.name}: its DaemonSets request more than it has; left with nothing free")
        out.append(replace(node, cpu_millis=max(cpu, 0), memory_mib=max(memory, 0), gpus=max(gpus, 0)))
    for d in daemonsets:
        hosts = sum(placement_allows(d.template, n, extra_tolerated=DAEMONSET_TOLERATED) for n in nodes)
        notes.add(
            f"{d.describe}: not a workload in the twin; its requests ({d.template.cpu_millis}m CPU, "
            f"{d.template.memory_mib}Mi memory) are taken from the allocatable of the {hosts} node(s) "
            "it runs on"
        )
    return out
