"""The static-rules baseline: what a manifest linter flags, tested first with the fault that checks each flag.

Tools such as Gremlin's Detected Risks and kube-score read the spec alone and flag risks: one replica on
a request path, no (usable) PodDisruptionBudget, every replica on one node, a datastore on ephemeral
storage, a training job without usable checkpoints, a pipeline without a drift monitor or schema check,
a timeout tight against its dependency's latency. This strategy reads the same facts from the
observation's static features, injects the design-basis fault that would test each flag (a flag
and its test are a ``Rule``), every flagged action once and in random order, then falls back to uniform
random. If a learned policy cannot beat it, the policy has learned nothing a rule does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS
from envs.faults import FaultKind
from envs.observation import TARGET_FEATURES
from policies.base import Decision, Outcome, masked_uniform

_COL = {name: i for i, name in enumerate(TARGET_FEATURES)}

TIGHT_TIMEOUT_MS = 500.0
"""A caller's timeout below this is tight whatever the callee's latency: inside the half second a
degraded dependency may add (the design basis's latency bound)."""
TIGHT_TIMEOUT_RATIO = 10.0
"""A caller's timeout under ten times its callee's own latency leaves no room for a slow tail."""

Flags = Callable[[NDArray[np.float32]], NDArray[np.bool_]]


def _f(features: NDArray[np.float32], name: str) -> NDArray[np.float32]:
    return features[:, _COL[name]]


def _workload(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    return (_f(features, "present") > 0) & (_f(features, "is_node") == 0)


def single_replica_on_path(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    on_path = (_f(features, "backs_entrypoint") > 0) | (_f(features, "callers_log") > 0)
    return _workload(features) & (_f(features, "single_replica") > 0) & on_path


def no_usable_pdb(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    replicated = (_f(features, "is_deployment") + _f(features, "is_statefulset") > 0) & (
        _f(features, "single_replica") == 0)
    return _workload(features) & replicated & ((_f(features, "has_pdb") == 0) | (_f(features, "pdb_blocks_all") > 0))


def sole_host_node(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    """A node that runs every pod of some workload: replicas on one node (Gremlin's node redundancy)."""
    return (_f(features, "is_node") > 0) & (_f(features, "node_sole_host_of") > 0)


def ephemeral_datastore(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    stateful = (_f(features, "stateful_without_storage") > 0) | (
        (_f(features, "role_cache") > 0) & (_f(features, "persistent_storage") == 0))
    return _workload(features) & stateful


def no_usable_checkpoint(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    # checkpoint_vs_loss_bound is min(interval / bound, 2) / 2: above 0.5 the interval exceeds the bound
    rare = (_f(features, "checkpointed") == 0) | (_f(features, "checkpoint_vs_loss_bound") > 0.5)
    return _workload(features) & (_f(features, "is_training") > 0) & rare


def no_drift_monitor(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    return _workload(features) & (_f(features, "is_pipeline") > 0) & (_f(features, "drift_monitor_on_path") == 0)


def no_schema_check(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    return _workload(features) & (_f(features, "is_pipeline") > 0) & (_f(features, "schema_check_on_path") == 0)


def tight_timeout(features: NDArray[np.float32]) -> NDArray[np.bool_]:
    called = _f(features, "callers_log") > 0
    timeout_ms = np.power(10.0, 4.0 * _f(features, "min_caller_timeout_log"))  # inverse of envs.profile
    ratio = 100.0 * _f(features, "latency_headroom")
    return _workload(features) & called & ((timeout_ms < TIGHT_TIMEOUT_MS) | (ratio < TIGHT_TIMEOUT_RATIO))


@dataclass(frozen=True)
class Rule:
    """A risk a linter flags on a target, and the design-basis fault that tests it."""

    name: str
    flags: Flags
    kind: FaultKind
    intensity: int


RULES: tuple[Rule, ...] = (
    Rule("single replica on a request path", single_replica_on_path, FaultKind.POD_KILL, 0),
    Rule("no usable PodDisruptionBudget", no_usable_pdb, FaultKind.POD_EVICTION, 0),
    Rule("every replica of a workload on this node", sole_host_node, FaultKind.NODE_FAILURE, 0),
    Rule("datastore on ephemeral storage", ephemeral_datastore, FaultKind.POD_KILL, 0),
    Rule("training job without a usable checkpoint", no_usable_checkpoint, FaultKind.POD_KILL, 0),
    Rule("pipeline without a drift monitor", no_drift_monitor, FaultKind.DATA_DRIFT, 1),
    Rule("pipeline without a schema check", no_schema_check, FaultKind.CORRUPTED_ROWS, 1),
    Rule("timeout tight against the dependency's latency", tight_timeout, FaultKind.NETWORK_LATENCY, 1),
)


def flagged_actions(decision: Decision, rules: tuple[Rule, ...] = RULES) -> NDArray[np.bool_]:
    """Shape (targets, kinds, intensities): the single-fault actions that test a flag, where allowed."""
    out = np.zeros((len(decision.targets), N_KINDS, N_INTENSITIES), dtype=bool)
    for rule in rules:
        out[:, KIND_INDEX[rule.kind], rule.intensity] |= rule.flags(decision.features)
    return out & decision.mask[..., 0]


class StaticRules:
    """Every flagged action once, in random order; then uniform random over single faults."""

    name = "static_rules"

    def __init__(self) -> None:
        self._tried: set[tuple[str, int]] = set()
        self._rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self._tried = set()
        self._rng = rng

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        flagged = flagged_actions(decision).reshape(len(decision.targets), -1)
        for t in np.flatnonzero(flagged.any(axis=1)):
            key = decision.targets[t]
            for cell in np.flatnonzero(flagged[t]):
                if (key, int(cell)) in self._tried:
                    flagged[t, cell] = False
        p = np.zeros(decision.mask.shape, dtype=np.float64)
        if flagged.any():
            p[..., 0] = flagged.reshape(p.shape[:-1])
        else:
            p[..., 0] = decision.mask[..., 0]
        return masked_uniform(p.reshape(-1) > 0)

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        """Tried is tried: a flag tested once, whatever it showed (refused or skipped included)."""
        t, rest = divmod(outcome.action, N_KINDS * N_INTENSITIES * N_HOLD)
        if t < len(decision.targets):
            self._tried.add((decision.targets[t], rest // N_HOLD))
