"""[safety]: the guardrails. The safety module turns these into the action mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.config.parse import setting

PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class SafetySettings:
    dry_run: Literal["off", "plan"] = setting("off", doc=(
        '"plan": plan, score and journal everything but inject nothing. An enum, not a boolean, '
        "so later modes (such as a pause after each plan) fit."))
    allow_namespaces: tuple[str, ...] = setting((), doc=(
        "Protected namespaces that may be targeted anyway (kube-system is never implied)."))
    include_namespaces: tuple[str, ...] = setting((), doc="Only these namespaces are targets (empty: all).")
    exclude_namespaces: tuple[str, ...] = setting((), doc="Never these namespaces.")
    exclude_targets: tuple[str, ...] = setting((), doc="Target keys never touched, such as ns/Deployment/db.")
    opt_in: bool = setting(False, doc='Only workloads labelled chaos-agent.io/enabled: "true" are targets.')
    max_concurrent_faults: int = setting(2, minimum=1, maximum=10, doc=(
        "Faults active at once; 2 lets the agent reach two-fault weaknesses."))
    max_unavailable_share: float = setting(1.0, minimum=0.0, maximum=1.0, doc=(
        "Largest share of a workload's replicas one fault may take down."))
    protect_last_replica: bool = setting(False, doc=(
        "Never take the last ready replica. Off on the simulator so single points of failure are found."))
    error_budget: float = setting(50.0, minimum=0, doc=(
        "SLO error budget a game day may burn (in violation-minutes) before the agent stops injecting."))
