"""Node faults: failure as a NoExecute taint of our own, and drain (cordon, then evict as kubectl drain).

A node failure taints the node ``chaos-agent.io/node-failure=<mark>:NoExecute``: new pods stay off
and running pods without a matching toleration are evicted by the taint manager, as when the node
controller taints an unreachable node (without its 300 s default toleration). Revert removes exactly
that taint. A drain cordons (``spec.unschedulable``) only a node that was schedulable, recording
that in the ``chaos-agent.io/cordoned-by`` annotation, so revert uncordons only what it cordoned.
It then evicts the pods ``kubectl drain --ignore-daemonsets --delete-emptydir-data`` would, without
``--force`` (``drain_skip_reason``), and never a pod of a protected namespace. Evictions a
PodDisruptionBudget refuses are tried again while the drain lasts, as ``kubectl drain`` does, but
only on a node this drain cordoned (``drain_retry``).
"""

from __future__ import annotations

from agent.backends.kubernetes.errors import NotFound
from agent.backends.kubernetes.faults.base import ActionContext, FaultPlan, missing_target, pod_name, refuse
from agent.backends.kubernetes.faults.drain_retry import RefusedPod
from agent.backends.kubernetes.faults.nodeops import (
    annotation_of,
    taint_values,
    update_node,
    with_taint,
    without_taint,
)
from agent.backends.kubernetes.faults.pods import delete_pods, evict_pods
from agent.backends.kubernetes.marks import CORDONED_BY_ANNOTATION, NODE_FAILURE_TAINT, label_value
from agent.backends.kubernetes.resources import NODES, PODS
from agent.backends.kubernetes.view import ClusterView, meta
from agent.config.safety import PROTECTED_NAMESPACES
from envs.cluster import Injection
from envs.faults import Fault

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def drain_skip_reason(pod: dict) -> str | None:
    """Why a drain leaves ``pod`` alone, or None to evict it: the rules of kubectl's drain filters
    (k8s.io/kubectl/pkg/drain/filters.go) for ``kubectl drain --ignore-daemonsets`` without ``--force``,
    plus the protected namespaces. Mirror (static) pods are the kubelet's own; DaemonSet pods would be
    recreated on the node at once (ignored with --ignore-daemonsets); a pod no controller manages would
    never come back, so kubectl refuses it without --force, and the agent skips it."""
    metadata = meta(pod)
    if MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
        return "a mirror pod"
    controller = next((r for r in metadata.get("ownerReferences") or [] if r.get("controller") is True), None)
    if controller is not None and controller.get("kind") == "DaemonSet":
        return "a DaemonSet pod"
    if controller is None:
        return "managed by no controller (kubectl drain needs --force for it)"
    if metadata.get("namespace") in PROTECTED_NAMESPACES:
        return f"in protected namespace {metadata.get('namespace')}"
    return None


class NodeFailure:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        node = view.node(fault.target)
        if node is None:
            return missing_target(fault, injection_id)
        name = meta(node)["name"]
        if any(t.get("key") == NODE_FAILURE_TAINT for t in (node.get("spec") or {}).get("taints") or []):
            return refuse(fault, injection_id, f"node {name} already carries a {NODE_FAILURE_TAINT} taint")
        return FaultPlan(injection_id, fault, targets=(name,))

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        name = plan.targets[0]
        update_node(ctx.api, name, lambda n: with_taint(n, NODE_FAILURE_TAINT, plan.mark))
        return plan.outcome("applied", f"tainted node {name} {NODE_FAILURE_TAINT}={plan.mark}:NoExecute")

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        mark = label_value(injection_id)
        for name in taint_values(ctx.api, NODE_FAILURE_TAINT).get(mark, []):
            try:
                update_node(ctx.api, name, lambda n: without_taint(n, NODE_FAILURE_TAINT, mark))
            except NotFound:
                continue  # the node left the cluster, and its taint with it

    def marked(self, *, ctx: ActionContext) -> set[str]:
        return set(taint_values(ctx.api, NODE_FAILURE_TAINT))


class NodeDrain:
    """Cordon, then evict the pods kubectl drain would (``drain_skip_reason``); high intensity deletes
    them instead."""

    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        node = view.node(fault.target)
        if node is None:
            return missing_target(fault, injection_id)
        name = meta(node)["name"]
        on_node = view.pods_on(name)
        pods = tuple(pod_name(p) for p in on_node if drain_skip_reason(p) is None)
        skipped = {pod_name(p): why for p in on_node if (why := drain_skip_reason(p)) is not None}
        return FaultPlan(injection_id, fault, targets=(name, *pods), body={"skipped": skipped})

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        name, pods = plan.targets[0], plan.targets[1:]

        def cordon(node: dict) -> dict | None:
            if (node.get("spec") or {}).get("unschedulable"):
                return None  # someone else cordoned it: we must not uncordon it on revert
            return {
                "metadata": {"annotations": {CORDONED_BY_ANNOTATION: plan.mark}},
                "spec": {"unschedulable": True},
            }

        cordoned = update_node(ctx.api, name, cordon)
        sub_plan = FaultPlan(plan.injection_id, plan.fault, targets=pods)
        refused: dict[str, str] = {}
        if plan.fault.magnitude >= 1:
            removed = delete_pods(sub_plan, ctx, ctx.pod_grace_period_s)
        else:
            removed, refused = evict_pods(pods, ctx)
        detail = f"cordoned {name}; removed {len(removed)} of {len(pods)} pod(s)"
        skipped = dict((plan.body or {}).get("skipped") or {})
        unmanaged = sorted(p for p, why in skipped.items() if why.startswith("managed by no controller"))
        protected = sorted(p for p, why in skipped.items() if why.startswith("in protected namespace"))
        if unmanaged or protected:
            detail += "; left alone as kubectl drain without --force: " + ", ".join(
                [f"{p} (no controller)" for p in unmanaged] + [f"{p} (protected namespace)" for p in protected])
        if refused:
            detail += "; refused: " + "; ".join(sorted(set(refused.values())))
            if cordoned is not None and annotation_of(cordoned, CORDONED_BY_ANNOTATION) == plan.mark:
                ctx.drains.hold(plan.mark, name, _refused_pods(ctx, refused), now_s=ctx.clock())
                detail += f"; retrying the refused every {ctx.drains.period_s:g} s while the drain lasts"
        return plan.outcome("applied", detail, removed)

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        mark = label_value(injection_id)
        ctx.drains.forget(mark)  # first: no retried eviction after the uncordon

        def uncordon(node: dict) -> dict | None:
            if annotation_of(node, CORDONED_BY_ANNOTATION) != mark:
                return None
            return {
                "metadata": {"annotations": {CORDONED_BY_ANNOTATION: None}},
                "spec": {"unschedulable": None},
            }

        for node in ctx.api.list(NODES).items:
            if annotation_of(node, CORDONED_BY_ANNOTATION) == mark:
                try:
                    update_node(ctx.api, meta(node)["name"], uncordon)
                except NotFound:
                    continue

    def marked(self, *, ctx: ActionContext) -> set[str]:
        return {m for n in ctx.api.list(NODES).items if (m := annotation_of(n, CORDONED_BY_ANNOTATION))}


def _refused_pods(ctx: ActionContext, refused: dict[str, str]) -> list[RefusedPod]:
    """The refused pods with their uids, so a replacement of the same name is never evicted by a retry."""
    found = []
    for target in sorted(refused):
        namespace, name = target.split("/", 1)
        try:
            uid = meta(ctx.api.get(PODS, name, namespace=namespace)).get("uid")
        except NotFound:
            continue
        if uid:
            found.append(RefusedPod(namespace, name, str(uid)))
    return found
