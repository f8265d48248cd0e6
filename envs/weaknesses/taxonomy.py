"""The root causes a weakness can have: a closed set, each with what it means and what fixes it.

A weakness is a root cause that breaks a steady state under a fault within the design basis
(``envs.design_basis``). Its kind is one of ``RootCause``; ``UNEXPLAINED`` is kept for a breach no
known cause explains, and is always shown as such.
"""

from __future__ import annotations

from enum import StrEnum


class RootCause(StrEnum):
    """Why a steady state broke under a design-basis fault. Values are stable identifiers (stored, exported)."""

    SINGLE_REPLICA_ON_PATH = "single_replica_on_path"
    """One pod (or one active leader) serves a request path: losing it stops the path."""
    COLOCATED_REPLICAS = "colocated_replicas"
    """The replicas share a node (or a zone): one node's (or zone's) failure takes them all."""
    PDB_MISSING_OR_UNMEETABLE = "pdb_missing_or_unmeetable"
    """No PodDisruptionBudget (a drain evicts every local pod at once), or one that no eviction can meet."""
    TIMEOUT_BELOW_DEPENDENCY_TAIL = "timeout_below_dependency_tail"
    """A caller's timeout sits below its dependency's degraded tail latency: slow answers become errors."""
    RETRY_AMPLIFICATION = "retry_amplification"
    """Retries multiply the load on a dependency that has lost capacity, so it cannot recover."""
    NO_FALLBACK = "no_fallback"
    """A call (or the edge in front of an entry point) has neither a fallback nor retries that absorb a
    failure within the design basis; also a model with no fallback for late data."""
    EPHEMERAL_STATE = "ephemeral_state"
    """A StatefulSet or Deployment keeps its data on the pod (no volume, or emptyDir): a lost pod loses data."""
    NO_USABLE_CHECKPOINT = "no_usable_checkpoint"
    """A training job never checkpoints, or checkpoints more rarely than the progress it may lose."""
    NO_DRIFT_MONITOR = "no_drift_monitor"
    """No drift monitor on a model's data path: a shifted feature silently degrades the model."""
    NO_SCHEMA_CHECK = "no_schema_check"
    """No schema check on a model's data path: corrupted rows reach the model."""
    NO_SPARE_GPU_CAPACITY = "no_spare_gpu_capacity"
    """A GPU workload that loses a device or its node has nowhere else with free GPUs to run."""
    UNEXPLAINED = "unexplained"
    """A breach under a design-basis fault that no known cause explains; kept and clearly marked."""

    @property
    def known(self) -> bool:
        """True for every kind but ``UNEXPLAINED``: a kind with a remediation."""
        return self is not RootCause.UNEXPLAINED

    @property
    def label(self) -> str:
        """A short phrase for tables and titles."""
        return LABELS[self]


LABELS: dict[RootCause, str] = {
    RootCause.SINGLE_REPLICA_ON_PATH: "single replica on a request path",
    RootCause.COLOCATED_REPLICAS: "replicas share a failure domain",
    RootCause.PDB_MISSING_OR_UNMEETABLE: "no usable PodDisruptionBudget",
    RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL: "timeout below the dependency's tail",
    RootCause.RETRY_AMPLIFICATION: "retries multiply load",
    RootCause.NO_FALLBACK: "no fallback",
    RootCause.EPHEMERAL_STATE: "state on ephemeral storage",
    RootCause.NO_USABLE_CHECKPOINT: "no usable checkpoint",
    RootCause.NO_DRIFT_MONITOR: "no drift monitor",
    RootCause.NO_SCHEMA_CHECK: "no schema check",
    RootCause.NO_SPARE_GPU_CAPACITY: "no spare GPU capacity",
    RootCause.UNEXPLAINED: "unexplained",
}

KNOWN_CAUSES: tuple[RootCause, ...] = tuple(c for c in RootCause if c.known)
