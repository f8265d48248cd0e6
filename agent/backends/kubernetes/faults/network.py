"""Network faults (latency, jitter, loss, partition) and CPU stress as Chaos Mesh custom objects.

Each injection creates one ``NetworkChaos`` or ``StressChaos`` (chaos-mesh.org/v1alpha1) in the
target's namespace (``chaos_spec``), with ``spec.duration`` set to the fault's duration: Chaos Mesh
ends the fault on its own even if the agent dies. The injection counts as applied only once Chaos
Mesh reports every target injected (``chaos_status``); a target it fails on (a pod with hostNetwork,
say), or no report within ``chaos_mesh_inject_timeout_s``, makes the outcome ``refused`` with Chaos
Mesh's reason, and the object is deleted again. Revert deletes the object and waits, up to
``chaos_mesh_revert_timeout_s``, until it is gone: its ``chaos-mesh/records`` finalizer goes only
once the controller has removed the tc, ipset or stress rules. An object still there then makes the
revert fail with ``StillTerminating``, and the daemon's sweep keeps trying. Chaos Mesh is found
through API discovery; without it the injection fails with a clear detail.

Jitter is netem's delay with a 1 ms base and the magnitude as jitter (so the mean barely moves).
CPU stress runs one stress worker per requested CPU core of the main container at the magnitude's load.
"""

from __future__ import annotations

import time

import structlog

from agent.backends.kubernetes.api import Obj
from agent.backends.kubernetes.errors import NotFound, StillTerminating
from agent.backends.kubernetes.faults.base import ActionContext, FaultPlan, create_once, missing_target, refuse
from agent.backends.kubernetes.faults.chaos_spec import chaos_spec, main_container, other_pods
from agent.backends.kubernetes.faults.chaos_status import (
    RECORDS_FINALIZER,
    ChaosProgress,
    holds_records,
    poll,
    progress,
)
from agent.backends.kubernetes.marks import (
    INJECTION_LABEL,
    injection_annotations,
    injection_labels,
    label_value,
    managed_selector,
    object_name,
)
from agent.backends.kubernetes.resources import CHAOS_MESH_GROUP_VERSION, NETWORK_CHAOS, STRESS_CHAOS, Resource
from agent.backends.kubernetes.view import ClusterView, meta
from envs.cluster import Injection
from envs.faults import Fault, FaultKind

NOT_INSTALLED = (
    f"Chaos Mesh is not installed (no {CHAOS_MESH_GROUP_VERSION} in API discovery); install it or "
    "exclude the network family"
)
CHAOS_RESOURCES = (NETWORK_CHAOS, STRESS_CHAOS)
log = structlog.get_logger(__name__)


def _sleep(seconds: float) -> bool:
    """A pause no stop flag cuts short: a revert runs to its own bound."""
    time.sleep(seconds)
    return False


def _resource(kind: FaultKind) -> Resource:
    return STRESS_CHAOS if kind == FaultKind.CPU_STRESS else NETWORK_CHAOS


def chaos_object(plan: FaultPlan) -> Obj:
    """The NetworkChaos or StressChaos a plan creates, marked with its injection id."""
    assert plan.body is not None, "a Chaos Mesh plan carries its spec"
    res = _resource(plan.fault.kind)
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "metadata": {
            "name": object_name("chaos-agent", plan.injection_id),
            "namespace": plan.fault.target.split("/", 1)[0],
            "labels": injection_labels(plan.injection_id),
            "annotations": injection_annotations(plan.injection_id),
        },
        "spec": dict(plan.body),
    }


class ChaosMeshFault:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        workload = view.workload(fault.target)
        if workload is None:
            return missing_target(fault, injection_id)
        res = _resource(fault.kind)
        served = ctx.api.served_kinds(CHAOS_MESH_GROUP_VERSION)
        if served is None:
            return refuse(fault, injection_id, NOT_INSTALLED, "failed")
        if res.kind not in served:
            return refuse(
                fault,
                injection_id,
                f"this Chaos Mesh serves no {res.kind} ({CHAOS_MESH_GROUP_VERSION}); upgrade it or exclude the fault",
                "failed",
            )
        peers = other_pods(workload, view) if fault.kind == FaultKind.NETWORK_PARTITION else None
        if peers == []:
            return refuse(fault, injection_id, f"no other pod in namespace {meta(workload).get('namespace')} "
                          "to partition the workload from")
        container = main_container(workload, view.pods_of(fault.target)) if fault.kind == FaultKind.CPU_STRESS else None
        spec = chaos_spec(fault, workload, container=container, peers=peers)
        return FaultPlan(injection_id, fault, targets=(fault.target,), body=spec)

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        namespace = plan.fault.target.split("/", 1)[0]
        res = _resource(plan.fault.kind)
        body = chaos_object(plan)
        name = body["metadata"]["name"]
        created = create_once(ctx, res, body, namespace=namespace, mark=plan.mark)
        if created is None:
            return plan.outcome("failed", f"{res.kind} {namespace}/{name} exists and is not ours")
        where = f"{res.kind} {namespace}/{name}"
        state = self._await_injection(ctx, res, namespace, name)
        if state.state == "injected":
            return plan.outcome("applied", f"created {where} for {body['spec']['duration']}; {state.detail}")
        if state.state == "pending":
            why = f"not injected within {ctx.chaos_mesh_inject_timeout_s:g} s: {state.detail}"
        else:
            why = state.detail
        detail = f"Chaos Mesh did not inject {where}: {why}; deleted it"
        try:
            self.revert(plan.injection_id, ctx=ctx)
        except StillTerminating as e:
            ctx.left_behind.add(plan.mark)
            detail += f", but {e}"
        return plan.outcome("refused", detail)

    def _await_injection(self, ctx: ActionContext, res: Resource, namespace: str, name: str) -> ChaosProgress:
        last = [ChaosProgress("pending", "Chaos Mesh has not reported on it yet")]

        def settled() -> bool:
            try:
                last[0] = progress(ctx.api.get(res, name, namespace=namespace))
            except NotFound:
                last[0] = ChaosProgress("failing", "the object was deleted before Chaos Mesh injected it")
            return last[0].state != "pending"

        stopped = poll(settled, timeout_s=ctx.chaos_mesh_inject_timeout_s, sleep=ctx.stop.wait, clock=time.monotonic)
        if not stopped and ctx.stop.is_set():
            return ChaosProgress("failing", "the agent is stopping: " + last[0].detail)
        return last[0]

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        waiting: list[tuple[Resource, str, str]] = []
        for res in CHAOS_RESOURCES:
            try:
                items = ctx.list_everywhere(res, label_selector=managed_selector(injection_id))
            except NotFound:
                continue  # Chaos Mesh is not (or no longer) installed: nothing of ours can exist
            for obj in items:
                name, namespace = meta(obj)["name"], meta(obj).get("namespace", "")
                try:
                    if not meta(obj).get("deletionTimestamp"):
                        ctx.api.delete(res, name, namespace=namespace)
                except NotFound:
                    continue
                waiting.append((res, namespace, name))
        left = self._await_gone(ctx, waiting)
        if left:
            ctx.left_behind.add(label_value(injection_id))
            raise StillTerminating(
                f"{', '.join(left)} still terminating {ctx.chaos_mesh_revert_timeout_s:g} s after its delete: "
                f"Chaos Mesh has not removed its {RECORDS_FINALIZER} finalizer, so its rules may still be in "
                "place (is chaos-controller-manager running?); the sweep keeps trying")
        ctx.left_behind.discard(label_value(injection_id))

    @staticmethod
    def _await_gone(ctx: ActionContext, objects: list[tuple[Resource, str, str]]) -> list[str]:
        """Wait until every object is gone; returns those still there (with their finalizers)."""
        pending = list(objects)
        described: dict[tuple[Resource, str, str], str] = {}

        def gone() -> bool:
            for item in list(pending):
                res, namespace, name = item
                try:
                    obj = ctx.api.get(res, name, namespace=namespace)
                except NotFound:
                    pending.remove(item)
                    continue
                held = "held by " + RECORDS_FINALIZER if holds_records(obj) else "held by a finalizer"
                described[item] = f"{res.kind} {namespace}/{name} ({held})"
            return not pending

        poll(gone, timeout_s=ctx.chaos_mesh_revert_timeout_s, sleep=_sleep, clock=time.monotonic)
        return [described.get(item, f"{item[0].kind} {item[1]}/{item[2]}") for item in pending]

    def marked(self, *, ctx: ActionContext) -> set[str]:
        marks: set[str] = set()
        for res in CHAOS_RESOURCES:
            try:
                items = ctx.list_everywhere(res, label_selector=managed_selector())
            except NotFound:
                continue
            marks.update((meta(o).get("labels") or {}).get(INJECTION_LABEL, "") for o in items)
        return marks - {""}
