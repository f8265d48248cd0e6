"""Per-target facts for the mask, gathered once per cluster state: the only per-target Python loop.

For a workload target: its replica counts, pods, PDB headroom and what it runs (GPU, pipeline). For a
node target: whether a node fault would touch a workload that is out of scope, and for each intensity
whether it would break the blast radius, the last replica or a PDB of any workload it hosts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from agent.safety.reach import gpu_devices_hit
from agent.safety.scope import DAEMONSET, Scope, split_key
from envs.cluster import ClusterState, WorkloadStatus
from envs.spec import ClusterSpec, PdbSpec, Workload, node_key

NO_PDB = 1 << 30
"""Disruptions allowed for a workload no PDB covers."""
RULES = ("share", "last", "pdb")


@dataclass(frozen=True)
class WorkloadView:
    """One workload's state as the guard judges it."""

    key: str
    desired: int
    ready: int
    pods: int
    pods_on: dict[str, int]
    gpu: bool
    pipeline: bool
    daemonset: bool
    scope_reason: str | None
    allowed_unavailable: int
    """Replicas that may be unavailable after a fault: floor(max_unavailable_share x desired)."""
    pdb_allowed: int
    """Pods that may go down before a PDB covering the workload is broken (NO_PDB: none covers it)."""

    @property
    def unavailable(self) -> int:
        return max(0, self.desired - self.ready)


@dataclass
class TargetFacts:
    """Arrays over the targets (length T); node tables are (T, 2 variants, 3 intensities)."""

    targets: tuple[str, ...]
    scope_reason: list[str | None]
    is_node: NDArray[np.bool_]
    gpu: NDArray[np.bool_]
    pipeline: NDArray[np.bool_]
    desired: NDArray[np.int64]
    ready: NDArray[np.int64]
    pods: NDArray[np.int64]
    allowed_unavailable: NDArray[np.int64]
    pdb_allowed: NDArray[np.int64]
    node_scope_reason: list[tuple[str | None, str | None]]
    node_ok: dict[str, NDArray[np.bool_]]
    node_offender: dict[tuple[int, int, int, str], str] = field(default_factory=dict)

    @cached_property
    def index(self) -> dict[str, int]:
        return {t: n for n, t in enumerate(self.targets)}

    @property
    def scope_ok(self) -> NDArray[np.bool_]:
        return np.array([r is None for r in self.scope_reason], dtype=bool)

    @property
    def node_scope_ok(self) -> NDArray[np.bool_]:
        ok = [(a is None, b is None) for a, b in self.node_scope_reason]
        return np.array(ok, dtype=bool).reshape(-1, 2)


def _resolve(value: int | str, desired: int) -> int | None:
    """A PDB count or percentage of the desired replicas, rounded up as the disruption controller does."""
    try:
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(int(value[:-1]) * desired / 100)
        return int(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Identity:
    """What the topology says about a workload: decided once per ClusterSpec, not per state."""

    scope_reason: str | None
    gpu: bool
    pipeline: bool
    daemonset: bool
    pdbs: tuple[PdbSpec, ...]
    """The PDBs whose selector matches the workload's pods."""


def identities(spec: ClusterSpec, scope: Scope) -> dict[str, Identity]:
    by_namespace: dict[str, list[PdbSpec]] = {}
    for pdb in spec.pdbs:
        by_namespace.setdefault(pdb.namespace, []).append(pdb)
    return {w.key: _identity(w.key, w, by_namespace.get(w.namespace, ()), scope) for w in spec.workloads}


def _identity(key: str, spec: Workload | None, pdbs: Sequence[PdbSpec], scope: Scope) -> Identity:
    parts = split_key(key)
    labels = None if spec is None else {**spec.template.label_map, **dict(spec.labels)}
    pod_labels = {} if spec is None else spec.template.label_map
    return Identity(
        scope_reason=scope.workload_reason(key, labels),
        gpu=spec is not None and spec.template.gpus > 0,
        pipeline=spec is not None and spec.pipeline is not None,
        daemonset=parts is not None and parts[1] == DAEMONSET,
        pdbs=tuple(p for p in pdbs if p.selector.matches(pod_labels)),
    )


def pdb_headroom(pdbs: Sequence[PdbSpec], desired: int, ready: int) -> int:
    """Disruptions the tightest of ``pdbs`` allows now (an unreadable PDB allows none)."""
    allowed = NO_PDB
    for pdb in pdbs:
        if pdb.min_available is not None:
            m = _resolve(pdb.min_available, desired)
            headroom = 0 if m is None else ready - m
        elif pdb.max_unavailable is not None:
            u = _resolve(pdb.max_unavailable, desired)
            headroom = 0 if u is None else u - (desired - ready)
        else:
            continue
        allowed = min(allowed, max(0, headroom))
    return allowed


def _node_of(name: str) -> str:
    return name if name.startswith("Node/") else node_key(name)


def workload_views(state: ClusterState, known: dict[str, Identity], scope: Scope, share: float
                   ) -> dict[str, WorkloadView]:
    views: dict[str, WorkloadView] = {}
    for key, status in state.workloads.items():
        ident = known.get(key) or _identity(key, None, (), scope)
        views[key] = _view(key, status, ident, share)
    return views


def _view(key: str, status: WorkloadStatus, ident: Identity, share: float) -> WorkloadView:
    pods_on: dict[str, int] = {}
    for node, count in status.pods_by_node:
        if count > 0:
            pods_on[_node_of(node)] = pods_on.get(_node_of(node), 0) + count
    desired, ready = max(0, status.desired), max(0, status.ready)
    return WorkloadView(
        key=key, desired=desired, ready=ready, pods=max(sum(pods_on.values()), ready), pods_on=pods_on,
        gpu=ident.gpu, pipeline=ident.pipeline, daemonset=ident.daemonset, scope_reason=ident.scope_reason,
        allowed_unavailable=math.floor(share * desired + 1e-9),
        pdb_allowed=pdb_headroom(ident.pdbs, desired, ready),
    )


def gather(state: ClusterState, targets: Sequence[str], scope: Scope, share: float,
           known: dict[str, Identity] | None = None) -> TargetFacts:
    """The facts about ``targets`` in ``state``; ``known`` caches ``identities(state.spec, scope)``."""
    views = workload_views(state, identities(state.spec, scope) if known is None else known, scope, share)
    hosted: dict[str, list[tuple[WorkloadView, int]]] = {}
    for view in views.values():
        for node, count in view.pods_on.items():
            hosted.setdefault(node, []).append((view, count))
    gpus_of = {n.key: n.gpus for n in state.spec.nodes}
    t = len(targets)
    f = TargetFacts(
        targets=tuple(targets), scope_reason=[None] * t, is_node=np.zeros(t, bool), gpu=np.zeros(t, bool),
        pipeline=np.zeros(t, bool), desired=np.zeros(t, np.int64), ready=np.zeros(t, np.int64),
        pods=np.zeros(t, np.int64), allowed_unavailable=np.zeros(t, np.int64),
        pdb_allowed=np.full(t, NO_PDB, np.int64), node_scope_reason=[(None, None)] * t,
        node_ok={r: np.ones((t, 2, 3), bool) for r in RULES},
    )
    for i, key in enumerate(targets):
        if key in views:
            view = views[key]
            f.scope_reason[i] = view.scope_reason
            f.gpu[i], f.pipeline[i] = view.gpu, view.pipeline
            f.desired[i], f.ready[i], f.pods[i] = view.desired, view.ready, view.pods
            f.allowed_unavailable[i], f.pdb_allowed[i] = view.allowed_unavailable, view.pdb_allowed
        elif key in state.nodes:
            f.is_node[i] = True
            status = state.nodes[key]
            devices = max(gpus_of.get(key, 0), status.gpus_allocatable)
            f.gpu[i] = devices > 0
            f.scope_reason[i] = scope.node_reason(key)
            _judge_node(f, i, key, hosted.get(key, []), devices, scope)
        else:
            f.scope_reason[i] = f"{key} is not a workload or node of this cluster"
    return f


def _judge_node(f: TargetFacts, i: int, key: str, hosted: list[tuple[WorkloadView, int]], devices: int,
                scope: Scope) -> None:
    """Fill the node tables: variant 0 hits every pod on the node, variant 1 one GPU pod per device."""
    devices_hit = gpu_devices_hit(devices)
    scope_reasons: list[str | None] = []
    for variant in (0, 1):
        touched = [(w, c) for w, c in hosted if (variant == 0 or w.gpu) and not w.daemonset]
        reason = next(
            (f"{key} hosts pods of {w.key}: {w.scope_reason}" for w, _ in touched if w.scope_reason), None)
        if reason is None and scope.settings.opt_in and not touched:
            reason = f"{key} hosts no opted-in workload (safety.opt_in is on)"
        scope_reasons.append(reason)
        for intensity in range(3):
            for w, count in touched:
                hit = count if variant == 0 else min(count, devices_hit[intensity])
                _node_rules(f, (i, variant, intensity), key, w, hit)
    f.node_scope_reason[i] = (scope_reasons[0], scope_reasons[1])


def _node_rules(f: TargetFacts, at: tuple[int, int, int], node: str, w: WorkloadView, hit: int) -> None:
    if hit <= 0:
        return
    broken = {
        "share": w.desired > 0 and min(w.desired, w.unavailable + hit) > w.allowed_unavailable,
        "last": w.ready > 0 and w.ready - hit < 1,
        "pdb": hit > w.pdb_allowed,
    }
    because = {
        "share": f"at most {w.allowed_unavailable} may be unavailable (safety.max_unavailable_share)",
        "last": "the last ready replica is protected (safety.protect_last_replica)",
        "pdb": f"its PDB allows {w.pdb_allowed} disruption(s) (safety.respect_pdb_for_kills)",
    }
    for rule, is_broken in broken.items():
        if is_broken and f.node_ok[rule][at]:
            f.node_ok[rule][at] = False
            f.node_offender[(*at, rule)] = (
                f"it takes {hit} pod(s) of {w.key} ({w.ready}/{w.desired} ready); {because[rule]}")
