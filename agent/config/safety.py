"""[safety]: the guardrails. ``agent.safety.SafetyGuard`` turns these into the action mask.

Defaults are what a real cluster needs: one fault at a time, at most half of a workload's replicas,
never its last ready one, and no PodDisruptionBudget broken by a fault that bypasses the Eviction API.
The simulated backend loosens them (and lifts the error budget) where the file does not set them (``simulated=`` on each
field, applied by ``load_config``): there the agent is there to be broken, so single points of failure
must be reachable. docs/safety.md gives both profiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.config.parse import setting
from envs.faults import FaultKind

PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
OPT_IN_LABEL = "chaos-agent.io/enabled"

DryRun = Literal["off", "plan"]


def _known_fault_kinds(values: tuple[str, ...]) -> str | None:
    unknown = [v for v in values if v not in {k.value for k in FaultKind}]
    if not unknown:
        return None
    return f"unknown fault kind(s) {', '.join(map(repr, unknown))}; known: " + ", ".join(k.value for k in FaultKind)


def _no_empty_names(values: tuple[str, ...]) -> str | None:
    empty = [v for v in values if not v.strip()]
    return "must not contain empty names" if empty else None


@dataclass(frozen=True)
class SafetySettings:
    dry_run: DryRun = setting("off", doc=(
        '"plan": plan, score and journal everything but inject nothing. An enum, not a boolean, '
        "so later modes (such as a pause after each plan) fit."))
    allow_namespaces: tuple[str, ...] = setting((), check=_no_empty_names, doc=(
        "Protected namespaces (kube-system, kube-public, kube-node-lease) that may be targeted anyway; "
        "nothing is implied. The agent's own namespace can never be allowed."))
    include_namespaces: tuple[str, ...] = setting((), check=_no_empty_names, doc=(
        "Only these namespaces are targets (empty: all). A node counts as in scope only when every "
        "workload with pods on it is."))
    exclude_namespaces: tuple[str, ...] = setting((), check=_no_empty_names, doc="Never these namespaces.")
    exclude_targets: tuple[str, ...] = setting((), check=_no_empty_names, doc=(
        "Target keys never touched, such as shop/Deployment/db or Node/gpu-1. A node hosting pods of an "
        "excluded workload is excluded too."))
    exclude_faults: tuple[str, ...] = setting((), check=_known_fault_kinds, doc=(
        "Fault kinds never injected, such as node_failure on a cluster without spare capacity; one of: "
        + ", ".join(k.value for k in FaultKind) + "."))
    opt_in: bool = setting(False, doc=(
        f'Only workloads labelled {OPT_IN_LABEL}: "true" (on the workload or its pod template) are '
        "targets; a node only when it hosts an opted-in workload and nothing else but DaemonSets."))
    max_concurrent_faults: int = setting(1, minimum=1, maximum=10, simulated=2, doc=(
        "Faults active at once (applied, or planned in dry run). 1 on a real cluster, until the team has "
        "read the results; the simulator's 2 lets the agent reach two-fault weaknesses."))
    max_unavailable_share: float = setting(0.5, minimum=0.0, maximum=1.0, simulated=1.0, doc=(
        "Largest share of a workload's desired replicas that may be unavailable after one fault, counting "
        "replicas already unavailable (as a PDB's maxUnavailable does). 0.5 on a real cluster; 1.0 on the "
        "simulator, where taking a whole workload down is how its weaknesses show."))
    protect_last_replica: bool = setting(True, simulated=False, doc=(
        "Never take the last ready replica. On for a real cluster; off on the simulator so single points "
        "of failure are found."))
    respect_pdb_for_kills: bool = setting(True, simulated=False, doc=(
        "Mask faults that take pods down without the Eviction API (pod kill, container crash, node failure, "
        "forced drain, GPU faults) when they would break a PodDisruptionBudget. Evictions are never masked "
        "for PDBs: the API refuses them, which is a safe result. On for a real cluster; off on the "
        "simulator (a PDB does not protect against node failures, and finding that is the point)."))
    error_budget: float = setting(50.0, minimum=0, maximum=1_000_000, simulated=math.inf, doc=(
        "SLO error budget a game day may burn (in violation-minutes, summed over breached bounds) "
        "before the agent stops injecting. 0: stop after the first breach. 50 on a real cluster; unlimited "
        "on the simulator unless the file sets it (the simulated cluster is there to be broken)."))
    halt_file: Path = setting(Path("var/chaos-agent.halt"), doc=(
        "The kill switch: while this file exists nothing is injected (`chaos-agent halt` writes it, "
        "`chaos-agent resume` removes it). Relative to the config file's folder."))
