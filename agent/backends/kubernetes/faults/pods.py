"""Pod faults: delete (pod kill, container crash) and eviction through the policy/v1 Eviction API.

A container crash is realised as a delete with no grace period of one pod of the workload: exec-free
and needing no extension, it looks to the workload like its process dying (the pod's controller
replaces it). It differs from a real crash loop in that the replacement is a new pod, so the
kubelet's restart back-off and the restart count do not show; the magnitude (crashes in a row) is
therefore not reproduced. Deleted or evicted pods leave nothing behind, so there is nothing to
revert: the workload's controller restores the replicas.
"""

from __future__ import annotations

from agent.backends.kubernetes.errors import DisruptionBudgetRefused, NotFound
from agent.backends.kubernetes.faults.base import (
    ActionContext,
    FaultPlan,
    choose,
    missing_target,
    pod_name,
    refuse,
)
from agent.backends.kubernetes.resources import PODS
from agent.backends.kubernetes.view import ClusterView
from envs.cluster import Injection
from envs.faults import Fault, FaultKind, units_hit


def plan_pods(fault: Fault, injection_id: str, view: ClusterView, count: int | None = None) -> FaultPlan:
    if view.workload(fault.target) is None:
        return missing_target(fault, injection_id)
    pods = [pod_name(p) for p in view.pods_of(fault.target)]
    if not pods:
        return refuse(fault, injection_id, f"{fault.target} has no running pods")
    n = count if count is not None else units_hit(fault.intensity, fault.magnitude, len(pods))
    return FaultPlan(injection_id, fault, targets=choose(pods, n, injection_id))


def delete_pods(plan: FaultPlan, ctx: ActionContext, grace_period_s: int) -> list[str]:
    deleted = []
    for target in plan.targets:
        namespace, name = target.split("/", 1)
        try:
            ctx.api.delete(PODS, name, namespace=namespace, grace_period_s=grace_period_s)
        except NotFound:
            continue  # already gone: the effect the fault wanted
        deleted.append(target)
    return deleted


class PodKill:
    """pod_kill (graceful delete) and container_crash (immediate delete of one pod)."""

    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        return plan_pods(fault, injection_id, view, 1 if fault.kind == FaultKind.CONTAINER_CRASH else None)

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        grace = 0 if plan.fault.kind == FaultKind.CONTAINER_CRASH else ctx.pod_grace_period_s
        deleted = delete_pods(plan, ctx, grace)
        return plan.outcome("applied", f"deleted {len(deleted)} pod(s) with grace period {grace} s", deleted)

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        """Nothing to undo: the workload's controller replaces deleted pods."""

    def marked(self, *, ctx: ActionContext) -> set[str]:
        return set()


def evict_pods(targets: tuple[str, ...], ctx: ActionContext) -> tuple[list[str], dict[str, str]]:
    """Evict each pod; returns (evicted, refused pod -> why, as "protected by PDB <name>")."""
    evicted: list[str] = []
    refused: dict[str, str] = {}
    for target in targets:
        namespace, name = target.split("/", 1)
        try:
            ctx.api.evict(name, namespace=namespace)  # the pod's own grace period, as the Eviction API
        except NotFound:
            continue
        except DisruptionBudgetRefused as e:
            refused[target] = f"protected by PDB {e.pdb_name}" if e.pdb_name else "protected by a PodDisruptionBudget"
            continue
        evicted.append(target)
    return evicted, refused


class PodEviction:
    """pod_eviction: the Eviction API, which a PodDisruptionBudget may refuse (HTTP 429)."""

    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        return plan_pods(fault, injection_id, view)

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        evicted, refused = evict_pods(plan.targets, ctx)
        reasons = "; ".join(sorted(set(refused.values())))
        if refused and not evicted:
            return plan.outcome("refused", reasons)
        detail = f"evicted {len(evicted)} of {len(plan.targets)} pod(s)" + (f"; refused: {reasons}" if refused else "")
        return plan.outcome("applied", detail, evicted)

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        """Nothing to undo: the workload's controller replaces evicted pods."""

    def marked(self, *, ctx: ActionContext) -> set[str]:
        return set()
