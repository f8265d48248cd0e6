"""GPU faults: a device failure as the device plugin reports one, and a GPU pod killed mid-training.

Device failure (an XID 79, "GPU fell off the bus") takes exactly what the simulator's does: the
devices hit stop counting in the node's ``nvidia.com/gpu`` capacity and allocatable (a patch of the
status subresource, as the kubelet writes it), and the pods running on those devices die (deleted
without grace; their controllers replace them wherever GPUs are free). Which device a pod holds is
known only to the kubelet, so the devices are laid out over the node's GPU pods in name order (each
pod holding as many as it requests, the rest free) and the failed ones drawn reproducibly from the
injection id: a pod dies only when a device it holds fails, so at most one pod per failed device, and
never a pod that uses no GPU. Nothing is tainted. The counts before the fault and the lowered ones are
recorded in the node's ``chaos-agent.io/gpu-failure`` annotation; the kubelet writes the device
plugin's count back at its next status report, so ``gpu_hold`` re-applies the lowered one while the
fault lasts. Revert restores the recorded counts and removes the record.

GPU memory pressure is realised as the kill of the workload's GPU pods (what an out-of-memory
error does to a training process), without grace period.
"""

from __future__ import annotations

import json
import random

from agent.backends.kubernetes.errors import NotFound
from agent.backends.kubernetes.faults.base import (
    ActionContext,
    FaultPlan,
    choose,
    missing_target,
    pod_name,
    refuse,
)
from agent.backends.kubernetes.faults.gpu_hold import FIELDS, gpu_count, gpu_record
from agent.backends.kubernetes.faults.nodeops import taint_values, update_node, without_taint
from agent.backends.kubernetes.faults.pods import delete_pods
from agent.backends.kubernetes.marks import GPU_FAILURE_TAINT, GPU_ORIGINAL_ANNOTATION, label_value
from agent.backends.kubernetes.resources import NODES
from agent.backends.kubernetes.view import ClusterView, meta, parse_quantity_int
from envs.cluster import Injection
from envs.faults import Fault, units_hit
from envs.spec import GPU_RESOURCE


def gpus_requested(pod: dict) -> int:
    """Devices a pod holds: its containers' ``nvidia.com/gpu`` (limits, else requests; extended
    resources have equal requests and limits)."""
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        limit = (resources.get("limits") or {}).get(GPU_RESOURCE)
        request = (resources.get("requests") or {}).get(GPU_RESOURCE, 0)
        total += parse_quantity_int(limit if limit is not None else request)
    return total


def failed_devices(fault: Fault, injection_id: str, devices: int) -> list[int]:
    """The device indexes the fault takes, drawn reproducibly from the injection id."""
    hit = units_hit(fault.intensity, fault.magnitude, devices)
    return sorted(random.Random(injection_id).sample(range(devices), hit))


def victims(pods: list[dict], failed: list[int]) -> list[str]:
    """The pods holding a failed device, with the devices laid out over ``pods`` in name order."""
    owners: list[str] = []
    for pod in sorted(pods, key=pod_name):
        owners += [pod_name(pod)] * gpus_requested(pod)
    return sorted({owners[d] for d in failed if d < len(owners)})


class GpuDeviceFailure:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        node = view.node(fault.target)
        if node is None:
            return missing_target(fault, injection_id)
        name = meta(node)["name"]
        devices = gpu_count(node, "allocatable")
        if gpu_count(node, "capacity") <= 0 or devices <= 0:
            return refuse(fault, injection_id, f"node {name} has no {GPU_RESOURCE}")
        held = gpu_record(node)
        if held is not None:
            return refuse(fault, injection_id, f"a GPU failure ({held.get('id')}) is already active on node {name}")
        failed = failed_devices(fault, injection_id, devices)
        gpu_pods = [p for p in view.pods_on(name) if gpus_requested(p) > 0]
        return FaultPlan(injection_id, fault, targets=(name, *victims(gpu_pods, failed)),
                         body={"devices": devices, "failed": failed})

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        name, pods = plan.targets[0], plan.targets[1:]
        assert plan.body is not None, "a GPU failure's plan carries its devices"
        hit = len(plan.body["failed"])
        counts: dict[str, int] = {}
        held: list[str] = []

        def mark(node: dict) -> dict | None:
            record = gpu_record(node)
            if record is not None:  # the cache was behind: another GPU failure holds the node
                held.append(str(record.get("id")))
                return None
            counts.update({f: gpu_count(node, f) for f in FIELDS})
            lowered = {f: max(0, counts[f] - hit) for f in FIELDS}
            record = {"id": plan.mark, **counts, "lowered": lowered}
            return {"metadata": {"annotations": {GPU_ORIGINAL_ANNOTATION: json.dumps(record)}}}

        update_node(ctx.api, name, mark)
        if held:
            return plan.outcome("refused", f"a GPU failure ({held[0]}) is already active on node {name}")
        lowered = {f: max(0, counts[f] - hit) for f in FIELDS}
        ctx.api.patch(NODES, name, {"status": {f: {GPU_RESOURCE: str(v)} for f, v in lowered.items()}},
                      subresource="status")
        ctx.gpu_holds.hold(plan.mark, name, lowered, now_s=ctx.clock())
        killed = delete_pods(FaultPlan(plan.injection_id, plan.fault, targets=pods), ctx, 0)
        detail = (f"{hit} of {counts['allocatable']} GPU(s) failed on node {name} (devices "
                  f"{', '.join(map(str, plan.body['failed']))}); killed {len(killed)} pod(s) on them"
                  + (f": {', '.join(killed)}" if killed else "")
                  + f"; the lowered count is re-applied every {ctx.gpu_holds.period_s:g} s while the fault lasts")
        return plan.outcome("applied", detail, killed)

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        mark = label_value(injection_id)
        ctx.gpu_holds.forget(mark)  # first: no re-apply after the restore
        names = set(taint_values(ctx.api, GPU_FAILURE_TAINT).get(mark, []))  # taints of earlier versions
        for node in ctx.api.list(NODES).items:
            if (gpu_record(node) or {}).get("id") == mark:
                names.add(meta(node)["name"])
        for name in sorted(names):
            try:
                self._restore(ctx, name, mark)
            except NotFound:
                continue

    @staticmethod
    def _restore(ctx: ActionContext, name: str, mark: str) -> None:
        """Restore the recorded counts (when they differ), then drop the record (and a taint)."""
        node = ctx.api.get(NODES, name)
        record = gpu_record(node)
        if record is not None and record.get("id") == mark:
            wanted = {f: int(record[f]) for f in FIELDS}
            if any(gpu_count(node, f) != v for f, v in wanted.items()):
                status = {f: {GPU_RESOURCE: str(v)} for f, v in wanted.items()}
                ctx.api.patch(NODES, name, {"status": status}, subresource="status")

        def unmark(node: dict) -> dict | None:
            patch = without_taint(node, GPU_FAILURE_TAINT, mark) or {}
            if (gpu_record(node) or {}).get("id") == mark:
                patch["metadata"] = {"annotations": {GPU_ORIGINAL_ANNOTATION: None}}
            return patch or None

        update_node(ctx.api, name, unmark)

    def marked(self, *, ctx: ActionContext) -> set[str]:
        marks = set(taint_values(ctx.api, GPU_FAILURE_TAINT))
        for node in ctx.api.list(NODES).items:
            record = gpu_record(node)
            if record is not None and record.get("id"):
                marks.add(str(record["id"]))
        return marks


def _requests_gpu(pod: dict) -> bool:
    return gpus_requested(pod) > 0


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
