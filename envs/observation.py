"""The observation: per-target features (static profile + live state + history) and global features.

A pure function of the cluster state, the anomaly scores and what the agent already tried (in this game
day and, through the cluster's memory, in earlier ones). Targets are padded to a fixed count with a mask,
so one network scores any cluster target by target. Try counts are on a log scale without a cap: the
policy must tell three fruitless tries from thirty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_KINDS
from envs.cluster import ClusterState
from envs.faults import FAMILIES, FaultKind, family_of
from envs.memory import ClusterMemory, tried_counts
from envs.profile import STATIC_FEATURES, TopologyProfile

DYNAMIC_FEATURES = (
    "present", "ready_share", "pending_share", "node_spread", "all_on_one_node", "rollout_in_progress",
    "since_checkpoint_vs_bound", "restarts_log", "anomaly", "node_ready", "node_pods_log",
    "node_sole_host_of", "node_hosts_entry", "held_here", "found_here", "tries_log", "fruitless_log",
    *(f"tried_{f}" for f in FAMILIES), *(f"tried_{k.value}" for k in KIND_INDEX),
    *(f"found_{k.value}" for k in KIND_INDEX),
)
TARGET_FEATURES = (*STATIC_FEATURES, *DYNAMIC_FEATURES)
GLOBAL_FEATURES = ("budget_left", "findings_log", "holding", *(f"held_{k.value}" for k in KIND_INDEX))
N_TARGET_FEATURES = len(TARGET_FEATURES)
N_GLOBAL_FEATURES = len(GLOBAL_FEATURES)
_COL = {name: i for i, name in enumerate(DYNAMIC_FEATURES)}


TRIES_SCALE = 2.0
"""``log1p(tries) / TRIES_SCALE``: 1 try 0.35, 3 tries 0.69, 10 tries 1.2, 60 tries 2.05; never saturates."""


@dataclass
class History:
    """What the agent tried on each target: the only memory the observation carries. It starts from the
    cluster's memory of earlier game days (``from_memory``) or from nothing (a training episode)."""

    n_targets: int
    tried: NDArray[np.float32] = field(init=False)
    found: NDArray[np.float32] = field(init=False)
    streak: NDArray[np.float32] = field(init=False)
    """Per target and fault kind: tries since that kind last showed a new weakness there."""

    def __post_init__(self) -> None:
        self.tried = np.zeros((self.n_targets, N_KINDS), dtype=np.float32)
        self.found = np.zeros((self.n_targets, N_KINDS), dtype=np.float32)
        self.streak = np.zeros((self.n_targets, N_KINDS), dtype=np.float32)

    def record(self, target: int, kind: FaultKind, found: bool, *, new: bool | None = None) -> None:
        """One try of ``kind`` on ``target``; ``found``: it showed a weakness; ``new``: one not known before
        (default: the same as ``found``)."""
        k = KIND_INDEX[kind]
        self.tried[target, k] += 1
        if found:
            self.found[target, k] = 1
        self.streak[target, k] = 0 if (found if new is None else new) else self.streak[target, k] + 1

    @classmethod
    def from_memory(cls, memory: ClusterMemory, targets: Sequence[str]) -> History:
        history = cls(len(targets))
        for i, kinds in tried_counts(memory, targets).items():
            for kind, (tries, found) in kinds.items():
                history.tried[i, KIND_INDEX[kind]] = tries
                history.found[i, KIND_INDEX[kind]] = float(found)
        index = {t: i for i, t in enumerate(targets)}
        for (target, kind), streak in memory.streaks.items():
            at = index.get(target)
            if at is not None:
                history.streak[at, KIND_INDEX[kind]] = streak
        return history


_WORKLOAD_COLS = [_COL[c] for c in ("ready_share", "pending_share", "node_spread", "all_on_one_node",
                                     "rollout_in_progress", "since_checkpoint_vs_bound", "restarts_log")]
_FAMILY_COLS = [[KIND_INDEX[k] for k in KIND_INDEX if family_of(k) == f] for f in FAMILIES]


def target_features(profile: TopologyProfile, state: ClusterState, anomaly: Mapping[str, float],
                    history: History, held: tuple[int, FaultKind] | None) -> NDArray[np.float32]:
    """Shape (targets, N_TARGET_FEATURES), unpadded."""
    n = len(profile.targets)
    dyn = np.zeros((n, len(DYNAMIC_FEATURES)), dtype=np.float32)
    dyn[:, _COL["present"]] = 1.0
    bound = state.spec.model_slo.max_training_progress_lost_s
    node_pods: dict[str, int] = {}
    node_sole: dict[str, int] = {}
    node_entry: dict[str, int] = {}
    backs_entry = profile.static[:, STATIC_FEATURES.index("backs_entrypoint")] > 0
    index = profile.index
    rows: list[int] = []
    values: list[tuple[float, ...]] = []
    for key, ws in state.workloads.items():  # plain Python per workload, one numpy write at the end
        i = index.get(key)
        if i is None:
            continue
        pods = ws.pods_by_node
        nodes = len(pods)
        running = 0
        for node, count in pods:
            running += count
            node_pods[node] = node_pods.get(node, 0) + count
        if nodes == 1:
            node = pods[0][0]
            node_sole[node] = node_sole.get(node, 0) + 1
            if backs_entry[i]:
                node_entry[node] = node_entry.get(node, 0) + 1
        since = ws.seconds_since_checkpoint
        rows.append(i)
        values.append((
            ws.ready / ws.desired if ws.desired else 1.0,
            ws.pending / ws.desired if ws.desired else 0.0,
            nodes / running if running else 0.0,
            float(nodes == 1 and running > 1),
            float(ws.rollout_in_progress),
            min(since / bound, 3.0) / 3 if since is not None else 0.0,
            math.log1p(ws.restarts) / 5,
        ))
    if rows:
        dyn[np.ix_(rows, _WORKLOAD_COLS)] = np.asarray(values, dtype=np.float32)
    for key, ns in state.nodes.items():
        i = profile.index.get(key)
        if i is None:
            continue
        name = key.split("/", 1)[1]
        dyn[i, _COL["node_ready"]] = float(ns.ready)
        dyn[i, _COL["node_pods_log"]] = math.log1p(node_pods.get(name, 0)) / 5
        dyn[i, _COL["node_sole_host_of"]] = min(node_sole.get(name, 0), 5) / 5
        dyn[i, _COL["node_hosts_entry"]] = min(node_entry.get(name, 0), 3) / 3
    if anomaly:
        at = [index.get(key, -1) for key in anomaly]
        scores = np.fromiter(anomaly.values(), dtype=np.float32, count=len(at))
        known = np.asarray(at) >= 0
        dyn[np.asarray(at)[known], _COL["anomaly"]] = np.clip(scores[known], 0.0, 10.0) / 10
    if held is not None:
        dyn[held[0], _COL["held_here"]] = 1.0
    tried, found = history.tried[:n], history.found[:n]
    dyn[:, _COL["found_here"]] = found.max(axis=1) if n else 0.0
    dyn[:, _COL["tries_log"]] = np.log1p(tried.sum(axis=1)) / 4
    dyn[:, _COL["fruitless_log"]] = np.log1p(history.streak[:n].max(axis=1) if n else 0.0) / TRIES_SCALE
    first_family = _COL[f"tried_{FAMILIES[0]}"]
    for fi, cols in enumerate(_FAMILY_COLS):
        dyn[:, first_family + fi] = np.log1p(tried[:, cols].sum(axis=1)) / TRIES_SCALE
    first_kind = _COL[f"tried_{FaultKind.POD_KILL.value}"]
    dyn[:, first_kind:first_kind + N_KINDS] = np.log1p(tried) / TRIES_SCALE
    first_found = _COL[f"found_{FaultKind.POD_KILL.value}"]
    dyn[:, first_found:first_found + N_KINDS] = found
    return np.concatenate([profile.static, dyn], axis=1)


def global_features(*, budget_left: float, findings: int, held: tuple[int, FaultKind] | None) -> NDArray[np.float32]:
    g = np.zeros(N_GLOBAL_FEATURES, dtype=np.float32)
    g[0] = budget_left
    g[1] = math.log1p(findings) / 3
    if held is not None:
        g[2] = 1.0
        g[3 + KIND_INDEX[held[1]]] = 1.0
    return g


def pack(targets: NDArray[np.float32], glob: NDArray[np.float32], max_targets: int) -> NDArray[np.float32]:
    """Flatten to the env's Box observation: padded (max_targets x F) then the global vector."""
    padded = np.zeros((max_targets, N_TARGET_FEATURES), dtype=np.float32)
    n = min(len(targets), max_targets)
    padded[:n] = targets[:n]
    return np.concatenate([padded.reshape(-1), glob])


def unpack(obs: NDArray[np.float32], max_targets: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    split = max_targets * N_TARGET_FEATURES
    return obs[..., :split].reshape(*obs.shape[:-1], max_targets, N_TARGET_FEATURES), obs[..., split:]
