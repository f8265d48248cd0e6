"""What the environment needs from a cluster, as small Protocols, and the records that cross them.

The env owns no I/O. A ``ClusterBackend`` (the simulator, or the Kubernetes backend in ``agent``)
snapshots the observable state, applies and reverts faults, and lets time pass; a
``SteadyStateSource`` samples the steady-state signals (the simulator directly, or Prometheus); an
``AnomalySource`` scores targets. The same env runs on all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from envs.faults import Fault
from envs.spec import ClusterSpec

Violation = Literal[
    "availability", "latency", "training_progress", "data_loss", "undetected_drift", "data_quality"
]
VIOLATIONS: tuple[Violation, ...] = (
    "availability", "latency", "training_progress", "data_loss", "undetected_drift", "data_quality",
)


@dataclass(frozen=True)
class WorkloadStatus:
    """Observable runtime state of one workload, as kubectl would show it."""

    key: str
    desired: int
    ready: int
    pods_by_node: tuple[tuple[str, int], ...] = ()
    rollout_in_progress: bool = False
    restarts: int = 0
    pending: int = 0
    seconds_since_checkpoint: float | None = None
    """Checkpointing training jobs only: seconds of progress since the newest checkpoint, i.e. what a
    failure now would lose (None: not a job that checkpoints)."""


@dataclass(frozen=True)
class NodeStatus:
    key: str
    ready: bool
    schedulable: bool
    gpus_allocatable: int = 0


@dataclass(frozen=True)
class ClusterState:
    """A snapshot: the topology plus what is running where, at ``time_s``."""

    spec: ClusterSpec
    workloads: Mapping[str, WorkloadStatus]
    nodes: Mapping[str, NodeStatus]
    time_s: float


@dataclass(frozen=True)
class SteadyStateSample:
    """The steady-state signals at one moment.

    Keys are workload or Service keys. Cumulative counters (progress lost, data lost) only grow, so
    a violation is a difference between two samples.
    """

    time_s: float
    availability: Mapping[str, float] = field(default_factory=dict)
    """Entry-point Service key -> share of requests answered successfully (fallbacks count)."""
    latency_p99_ms: Mapping[str, float] = field(default_factory=dict)
    training_progress_lost_s: Mapping[str, float] = field(default_factory=dict)
    data_lost: Mapping[str, float] = field(default_factory=dict)
    """Workload key -> data users lost, cumulative, in the workload's unit (``envs.spec.data_loss_signal``):
    items of its datastore, the share of its data, or (a StatefulSet without a datastore record) pods."""
    accuracy: Mapping[str, float] = field(default_factory=dict)
    """Model workload key -> accuracy of its predictions."""
    drift_detected: Mapping[str, bool] = field(default_factory=dict)
    """Pipeline workload key -> a drift monitor has raised an alert."""
    bad_rows: Mapping[str, float] = field(default_factory=dict)
    """Model workload key -> share of bad (corrupted or stale beyond bound) input reaching it."""


InjectionOutcome = Literal["applied", "refused", "failed", "dry_run"]


@dataclass(frozen=True)
class Injection:
    """A fault as applied: the handle to revert it and what the cluster said."""

    id: str
    fault: Fault
    outcome: InjectionOutcome
    detail: str = ""
    affected_pods: tuple[str, ...] = ()


class ClusterBackend(Protocol):
    """A cluster the agent can observe and break."""

    def snapshot(self) -> ClusterState: ...

    def inject(self, fault: Fault, *, injection_id: str) -> Injection: ...

    def revert(self, injection: Injection) -> None: ...

    def wait(self, seconds: float) -> None:
        """Let time pass: simulated time on the simulator, wall-clock time on a real cluster."""
        ...

    def now(self) -> float: ...


class SteadyStateSource(Protocol):
    def sample(self) -> SteadyStateSample: ...


class AnomalySource(Protocol):
    def scores(self) -> Mapping[str, float]:
        """Target key -> anomaly score >= 0 (0: normal; about 3 and up: clearly anomalous)."""
        ...


class ActionGuard(Protocol):
    """The safety layer's view of which faults may be injected where, right now.

    Returns a bool array of shape ``(len(targets), len(FAULT_KINDS), 3)``: target x fault kind x
    intensity, True where allowed. Vectorised because a policy decides over thousands of targets.
    """

    def mask(self, state: ClusterState, targets: Sequence[str], active: Sequence[Injection]) -> NDArray[np.bool_]:
        ...
