"""The Protocol every fault family implements on a real cluster: plan, apply, revert, and find its marks.

``plan`` reads the cached view (and discovery where a family needs an extension) and decides what
to touch, or refuses; ``apply`` makes the API calls; ``revert`` undoes by injection id from what the
cluster itself holds (marks), so it works after an agent restart; ``marked`` lists the ids whose
marks are still in the cluster, for the start-up sweep.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agent.backends.kubernetes.api import KubeApi, Obj
from agent.backends.kubernetes.errors import Conflict
from agent.backends.kubernetes.faults.drain_retry import DrainRetries
from agent.backends.kubernetes.faults.gpu_hold import GpuHolds
from agent.backends.kubernetes.marks import INJECTION_LABEL, label_value
from agent.backends.kubernetes.resources import Resource
from agent.backends.kubernetes.view import ClusterView, meta
from envs.cluster import Injection, InjectionOutcome
from envs.faults import Fault

Verdict = Literal["go", "refused", "failed"]


@dataclass(frozen=True)
class ActionContext:
    api: KubeApi
    pod_grace_period_s: int = 30
    clock: Callable[[], float] = time.time
    """Wall-clock seconds since the epoch (for expiry times written into the cluster)."""
    drains: DrainRetries = field(default_factory=DrainRetries)
    """The refused evictions of this backend's active drains, retried from ``KubernetesBackend.wait``."""
    gpu_holds: GpuHolds = field(default_factory=GpuHolds)
    """The lowered GPU counts of this backend's active GPU failures, re-applied from ``KubernetesBackend.wait``."""
    chaos_mesh_inject_timeout_s: float = 30.0
    """How long apply waits for Chaos Mesh to report an object injected ([cluster.kubernetes])."""
    chaos_mesh_revert_timeout_s: float = 30.0
    """How long revert waits for a deleted Chaos Mesh object to be gone ([cluster.kubernetes])."""
    stop: threading.Event = field(default_factory=threading.Event)
    """Set when the agent stops (a halt, a lost lease, a signal): waits for an injection end early."""
    left_behind: set[str] = field(default_factory=set)
    """Marks whose revert could not finish (an object still terminating): the backend's sweep is due."""
    namespaces: tuple[str, ...] = ()
    """Where namespaced objects are listed ([cluster.kubernetes] namespaces); empty: cluster-wide."""

    def list_everywhere(self, res: Resource, *, label_selector: str) -> list[Obj]:
        """The objects of ``res`` matching ``label_selector`` wherever the agent may look: one
        cluster-wide list, or one per namespace when the agent is confined to some."""
        if not res.namespaced or not self.namespaces:
            return self.api.list(res, label_selector=label_selector).items
        return [o for ns in self.namespaces
                for o in self.api.list(res, namespace=ns, label_selector=label_selector).items]


@dataclass(frozen=True)
class FaultPlan:
    injection_id: str
    fault: Fault
    verdict: Verdict = "go"
    detail: str = ""
    targets: tuple[str, ...] = ()
    """What apply touches: ``namespace/pod`` names, node names, or the workload key."""
    body: Mapping[str, Any] | None = None
    """What apply creates, when the plan decides it from the cached view (a Chaos Mesh ``spec``)."""

    @property
    def mark(self) -> str:
        return label_value(self.injection_id)

    def outcome(self, outcome: InjectionOutcome, detail: str = "", affected: Sequence[str] = ()) -> Injection:
        return Injection(
            id=self.injection_id,
            fault=self.fault,
            outcome=outcome,
            detail=detail,
            affected_pods=tuple(affected),
        )

    def refuse(self) -> Injection:
        outcome: InjectionOutcome = "refused" if self.verdict == "refused" else "failed"
        return self.outcome(outcome, self.detail)


class FaultAction(Protocol):
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan: ...

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection: ...

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        """Undo everything marked with this id (idempotent; accepts the id or its mark)."""
        ...

    def marked(self, *, ctx: ActionContext) -> set[str]:
        """Marks (``label_value(id)``) of injections whose changes are still in the cluster."""
        ...


def create_once(ctx: ActionContext, res: Resource, body: Obj, *, namespace: str, mark: str) -> Obj | None:
    """Create ``body``; when it already exists, return it if it is this injection's own (a create that
    timed out and was retried got through the first time), else None."""
    try:
        return ctx.api.create(res, body, namespace=namespace)
    except Conflict:
        existing = ctx.api.get(res, body["metadata"]["name"], namespace=namespace)
        if (meta(existing).get("labels") or {}).get(INJECTION_LABEL) == mark:
            return existing
        return None


def refuse(fault: Fault, injection_id: str, detail: str, verdict: Verdict = "refused") -> FaultPlan:
    return FaultPlan(injection_id, fault, verdict=verdict, detail=detail)


def pod_name(pod: Obj) -> str:
    return f"{meta(pod).get('namespace', '')}/{meta(pod)['name']}"


def choose(items: Sequence[str], count: int, injection_id: str) -> tuple[str, ...]:
    """``count`` of ``items``, drawn reproducibly from the injection id (the same plan on a retry)."""
    ordered = sorted(items)
    return tuple(sorted(random.Random(injection_id).sample(ordered, min(count, len(ordered)))))


def missing_target(fault: Fault, injection_id: str) -> FaultPlan:
    return refuse(fault, injection_id, f"target {fault.target} does not exist in the cluster", "failed")
