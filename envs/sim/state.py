"""The simulator's runtime objects: pods, nodes and per-workload state, kept light (``__slots__``).

They are mutable on purpose: the event loop changes them in place and never copies them. Outside the
simulator they are seen only through ``PodView`` and the snapshot records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.spec import NodeSpec, Workload

# Pod phases, as ints for speed; PodView shows the kubectl STATUS word.
PENDING, STARTING, RUNNING, TERMINATING, SUCCEEDED, FAILED = range(6)

PodStatus = Literal[
    "Pending", "ContainerCreating", "Running", "CrashLoopBackOff", "Terminating", "Succeeded", "Failed"
]


@dataclass(frozen=True)
class PodView:
    """One pod as ``kubectl get pods -o wide`` shows it."""

    name: str
    workload: str
    node: str | None
    phase: PodStatus
    ready: bool
    restarts: int
    gpus: tuple[int, ...] = ()


class Pod:
    __slots__ = (
        "alive", "backoff", "crash_streak", "crashes_left", "created_s", "gen", "gpus", "holds_data", "name", "node",
        "ordinal", "partitions", "phase", "ready", "restarts", "rev", "up_since", "w",
    )

    def __init__(self, name: str, w: int, ordinal: int, rev: int, created_s: float) -> None:
        self.name = name
        self.w = w
        self.ordinal = ordinal
        self.rev = rev
        self.created_s = created_s
        self.node: Node | None = None
        self.phase = PENDING
        self.ready = False
        self.alive = False
        """The process serves (running on a live node); ``ready`` is what the API server believes."""
        self.restarts = 0
        self.gpus: tuple[int, ...] = ()
        self.gen = 0
        """Bumped whenever pending events for this pod become stale."""
        self.up_since = 0.0
        self.crash_streak = 0
        self.crashes_left = 0
        self.backoff = False
        self.partitions = 0
        self.holds_data = False
        """A datastore pod holding its share (or a copy) of the data: Ready once since its data was lost."""


class Node:
    __slots__ = (
        "base_cordon", "cordons", "cpu", "down", "gen", "gpu_failed", "gpu_owner", "i", "mem", "name",
        "not_ready_since", "pods", "ready", "spec", "used_cpu", "used_mem",
    )

    def __init__(self, i: int, spec: NodeSpec) -> None:
        self.i = i
        self.spec = spec
        self.name = spec.name
        self.cpu = spec.cpu_millis
        self.mem = spec.memory_mib
        self.used_cpu = 0
        self.used_mem = 0
        self.gpu_owner: list[Pod | None] = [None] * spec.gpus
        self.gpu_failed: list[int] = [0] * spec.gpus
        """Per device: how many active injections hold it failed."""
        self.pods: set[Pod] = set()
        self.base_cordon = spec.unschedulable
        self.cordons: set[str] = set()
        """Injection ids holding the node cordoned."""
        self.down: set[str] = set()
        """Injection ids holding the node stopped."""
        self.ready = True
        self.not_ready_since = 0.0
        self.gen = 0

    @property
    def cordoned(self) -> bool:
        return self.base_cordon or bool(self.cordons)

    @property
    def gpus_allocatable(self) -> int:
        return sum(1 for f in self.gpu_failed if not f)

    def free_gpus(self) -> list[int]:
        owner, failed = self.gpu_owner, self.gpu_failed
        return [d for d in range(len(owner)) if owner[d] is None and not failed[d]]


class WorkloadState:
    """Runtime state of one workload: its pods, controller bookkeeping, active fault effects."""

    __slots__ = (
        "corrupt", "data_lost", "delay_s", "desired", "done", "down_since", "drift", "effects", "failures",
        "gpu_pressure",
        "hpa_last_scale", "i", "jitter_ms", "latency_ms", "leader", "leader_back_s", "loss", "names",
        "pods", "reconcile_due", "rev", "rollout", "spec", "stress", "terminating", "train",
    )

    def __init__(self, i: int, spec: Workload) -> None:
        self.i = i
        self.spec = spec
        self.pods: list[Pod] = []
        self.terminating: set[Pod] = set()
        """Pods deleted gracefully that have not exited yet (a StatefulSet waits for them)."""
        self.desired = spec.replicas
        self.rev = 1
        self.rollout = False
        self.names = 0
        self.reconcile_due = False
        self.failures = 0
        self.done = False
        """Jobs: Complete or Failed (backoffLimit); no more pods are created."""
        self.data_lost = 0.0
        """What users lost, in the datastore's unit (or pods' data, the legacy rule), cumulative."""
        self.leader: Pod | None = None
        self.leader_back_s = -1.0
        """Leader-election workloads: until this time the Service fails over (no leader)."""
        self.hpa_last_scale = -1e18
        self.effects: dict[str, tuple[str, float]] = {}
        """Injection id -> (fault kind value, magnitude) of faults acting on the workload."""
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.loss = 0.0
        self.stress = 0.0
        self.gpu_pressure = 0.0
        self.drift = 0.0
        self.corrupt = 0.0
        self.delay_s = 0.0
        self.train: TrainingState | None = None
        self.down_since: float | None = None
        """Since when no pod of the workload serves (None: some pod serves)."""


class TrainingState:
    """A training job's progress, advanced analytically while all of its pods run."""

    __slots__ = ("base", "completed", "gen", "lost_s", "run_start", "total")

    def __init__(self, total: float, base: float) -> None:
        self.total = total
        self.base = base
        """Progress (seconds of training) banked at the start of the current run."""
        self.run_start: float | None = None
        self.lost_s = 0.0
        self.completed = False
        self.gen = 0
