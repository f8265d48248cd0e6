"""kube-scheduler, reduced to its filters and the LeastAllocated score.

Filters: static fit (nodeSelector, required node affinity, spec taints; precompiled), cordon, the
unreachable taint of a NotReady node, free cpu/memory/GPUs, required pod anti-affinity in both
directions (terminating pods still count, as in Kubernetes). Ties go to the node name.
"""

from __future__ import annotations

from envs.sim.compiled import CompiledSpec
from envs.sim.state import Node, Pod
from envs.spec import HOSTNAME_LABEL, Workload


def find_node(c: CompiledSpec, nodes: list[Node], pod: Pod) -> Node | None:
    w: Workload = c.spec.workloads[pod.w]
    t = w.template
    best: Node | None = None
    best_score = -1.0
    anti = c.anti_pairs[pod.w]
    for ni in c.static_nodes[pod.w]:
        n = nodes[ni]
        if n.base_cordon or n.cordons:
            continue
        if not n.ready and not c.tolerates_unreachable[pod.w]:
            continue
        if n.used_cpu + t.cpu_millis > n.cpu or n.used_mem + t.memory_mib > n.mem:
            continue
        if t.gpus and len(n.free_gpus()) < t.gpus:
            continue
        if anti and _anti_conflict(c, nodes, n, anti):
            continue
        score = (n.cpu - n.used_cpu - t.cpu_millis) / n.cpu + (n.mem - n.used_mem - t.memory_mib) / n.mem
        if score > best_score + 1e-12 or (abs(score - best_score) <= 1e-12 and best is not None
                                           and n.name < best.name):
            best, best_score = n, score
    return best


def _anti_conflict(c: CompiledSpec, nodes: list[Node], n: Node,
                   anti: tuple[tuple[str, frozenset[int]], ...]) -> bool:
    for key, wset in anti:
        if key == HOSTNAME_LABEL:
            if any(p.w in wset for p in n.pods):
                return True
            continue
        dom = c.domain[key]
        value = dom[n.i]
        if not value:
            continue  # a node without the topology label is in no domain
        for j, v in enumerate(dom):
            if v == value and any(p.w in wset for p in nodes[j].pods):
                return True
    return False


def bind(c: CompiledSpec, pod: Pod, node: Node) -> None:
    t = c.spec.workloads[pod.w].template
    pod.node = node
    node.pods.add(pod)
    node.used_cpu += t.cpu_millis
    node.used_mem += t.memory_mib
    if t.gpus:
        devices = node.free_gpus()[: t.gpus]
        for d in devices:
            node.gpu_owner[d] = pod
        pod.gpus = tuple(devices)


def release(c: CompiledSpec, pod: Pod) -> None:
    node = pod.node
    if node is None:
        return
    t = c.spec.workloads[pod.w].template
    node.pods.discard(pod)
    node.used_cpu -= t.cpu_millis
    node.used_mem -= t.memory_mib
    for d in pod.gpus:
        if node.gpu_owner[d] is pod:
            node.gpu_owner[d] = None
    pod.node = None
