"""GPU faults: a device failure as the device plugin reports one, and a GPU pod killed mid-training.

Device failure (an XID 79, "GPU fell off the bus"): the node's ``nvidia.com/gpu`` capacity and
allocatable drop by the devices hit (a patch of the status subresource, as the kubelet writes it)
and a ``chaos-agent.io/gpu-failure=<mark>:NoExecute`` taint evicts the pods on the node that do not
tolerate it. The values before the fault are recorded in the node's ``chaos-agent.io/gpu-failure``
annotation and restored on revert. On a live cluster the kubelet re-reports the device plugin's
count at its next node status sync, so the lowered count is brief; the taint is what holds.

GPU memory pressure is realised as the kill of the workload's GPU pods (what an out-of-memory
error does to a training process), without grace period.
"""

from __future__ import annotations

import json

from agent.backends.kubernetes.errors import NotFound
from agent.backends.kubernetes.faults.base import (
    ActionContext,
    FaultPlan,
    choose,
    missing_target,
    pod_name,
    refuse,
)
from agent.backends.kubernetes.faults.nodeops import (
    annotation_of,
    taint_values,
    update_node,
    with_taint,
    without_taint,
)
from agent.backends.kubernetes.faults.pods import delete_pods
from agent.backends.kubernetes.marks import GPU_FAILURE_TAINT, GPU_ORIGINAL_ANNOTATION, label_value
from agent.backends.kubernetes.resources import NODES
from agent.backends.kubernetes.view import ClusterView, meta, parse_quantity_int
from envs.cluster import Injection
from envs.faults import Fault, units_hit
from envs.spec import GPU_RESOURCE


def _gpus(node: dict, field: str) -> int:
    return parse_quantity_int(((node.get("status") or {}).get(field) or {}).get(GPU_RESOURCE, 0))


def _record(node: dict) -> dict | None:
    raw = annotation_of(node, GPU_ORIGINAL_ANNOTATION)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class GpuDeviceFailure:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        node = view.node(fault.target)
        if node is None:
            return missing_target(fault, injection_id)
        name = meta(node)["name"]
        if _gpus(node, "capacity") <= 0:
            return refuse(fault, injection_id, f"node {name} has no {GPU_RESOURCE}")
        held = _record(node)
        if held is not None:
            return refuse(fault, injection_id, f"a GPU failure ({held.get('id')}) is already active on node {name}")
        return FaultPlan(injection_id, fault, targets=(name,))

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        name = plan.targets[0]
        original: dict = {}
        held: list[str] = []

        def mark(node: dict) -> dict | None:
            record = _record(node)
            if record is not None:  # the cache was behind: another GPU failure holds the node
                held.append(str(record.get("id")))
                return None
            original.update(capacity=_gpus(node, "capacity"), allocatable=_gpus(node, "allocatable"))
            patch = with_taint(node, GPU_FAILURE_TAINT, plan.mark) or {}
            patch["metadata"] = {"annotations": {GPU_ORIGINAL_ANNOTATION: json.dumps({"id": plan.mark, **original})}}
            return patch

        update_node(ctx.api, name, mark)
        if held:
            return plan.outcome("refused", f"a GPU failure ({held[0]}) is already active on node {name}")
        hit = units_hit(plan.fault.intensity, plan.fault.magnitude, original["allocatable"])
        status = {
            "capacity": {GPU_RESOURCE: str(max(0, original["capacity"] - hit))},
            "allocatable": {GPU_RESOURCE: str(max(0, original["allocatable"] - hit))},
        }
        ctx.api.patch(NODES, name, {"status": status}, subresource="status")
        return plan.outcome(
            "applied",
            f"{hit} of {original['allocatable']} GPU(s) failed on node {name}; "
            f"tainted {GPU_FAILURE_TAINT}={plan.mark}:NoExecute",
        )

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        mark = label_value(injection_id)
        names = set(taint_values(ctx.api, GPU_FAILURE_TAINT).get(mark, []))
        for node in ctx.api.list(NODES).items:
            if (_record(node) or {}).get("id") == mark:
                names.add(meta(node)["name"])
        for name in sorted(names):
            try:
                self._restore(ctx, name, mark)
            except NotFound:
                continue

    @staticmethod
    def _restore(ctx: ActionContext, name: str, mark: str) -> None:
        """Restore the recorded counts (when they differ), then drop the taint and the record."""
        node = ctx.api.get(NODES, name)
        record = _record(node)
        if record is not None and record.get("id") == mark:
            wanted = {f: int(record[f]) for f in ("capacity", "allocatable")}
            if any(_gpus(node, f) != v for f, v in wanted.items()):
                status = {f: {GPU_RESOURCE: str(v)} for f, v in wanted.items()}
                ctx.api.patch(NODES, name, {"status": status}, subresource="status")

        def unmark(node: dict) -> dict | None:
            patch = without_taint(node, GPU_FAILURE_TAINT, mark) or {}
            if (_record(node) or {}).get("id") == mark:
                patch["metadata"] = {"annotations": {GPU_ORIGINAL_ANNOTATION: None}}
            return patch or None

        update_node(ctx.api, name, unmark)

    def marked(self, *, ctx: ActionContext) -> set[str]:
        marks = set(taint_values(ctx.api, GPU_FAILURE_TAINT))
        for node in ctx.api.list(NODES).items:
            record = _record(node)
            if record is not None and record.get("id"):
                marks.add(str(record["id"]))
        return marks


def _requests_gpu(pod: dict) -> bool:
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        for part in ("limits", "requests"):
            if parse_quantity_int((resources.get(part) or {}).get(GPU_RESOURCE, 0)) > 0:
                return True
    return False


class GpuPodKill:
    """gpu_memory_pressure: the workload's GPU pods die as an out-of-memory error kills them."""

    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        if view.workload(fault.target) is None:
            return missing_target(fault, injection_id)
        pods = [pod_name(p) for p in view.pods_of(fault.target) if _requests_gpu(p)]
        if not pods:
            return refuse(fault, injection_id, f"{fault.target} has no running pods that use {GPU_RESOURCE}")
        n = units_hit(fault.intensity, fault.magnitude, len(pods))
        return FaultPlan(injection_id, fault, targets=choose(pods, n, injection_id))

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        deleted = delete_pods(plan, ctx, 0)
        return plan.outcome("applied", f"killed {len(deleted)} GPU pod(s) as by an out-of-memory error", deleted)

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        """Nothing to undo: the pods' controller (Job, Deployment) replaces them."""

    def marked(self, *, ctx: ActionContext) -> set[str]:
        return set()
