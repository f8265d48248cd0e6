"""The records of the root-cause analysis: a case (one finding as read), its diagnosis, a weakness, an impact."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from envs.cluster import Violation
from envs.design_basis import Classification
from envs.faults import Fault
from envs.footprint import Touch
from envs.verdict import Breach, severity_label
from envs.weaknesses.taxonomy import RootCause


@dataclass(frozen=True)
class Case:
    """One finding as the root-cause analysis reads it: what broke, under which faults, reaching whom."""

    id: str
    """The finding's id (``F-...``): the weakness lists it as evidence."""
    violation: Violation
    faults: tuple[Fault, ...]
    """The faults active together, held ones first, the injected one last."""
    affected: tuple[str, ...]
    worst: Breach
    """The worst breach; for availability and latency its signal names the entry Service."""
    footprint: tuple[Touch, ...]
    severity: float


@dataclass(frozen=True)
class Diagnosis:
    """Why one case broke: its place against the design basis and, within it, its root cause."""

    basis: Classification
    cause: RootCause | None
    """None when the faults were beyond the design basis: impact, not a weakness."""
    locus: str = ""
    """What the cause sits in: a workload key, a call (``caller -> Service key``), an entry Service key."""
    targets: tuple[str, ...] = ()
    """The objects a fix changes (workload or Service keys)."""
    detail: str = ""
    """The causal chain in a sentence or two, with the numbers from the spec that make it hold."""
    variant: str = ""
    """A finer shape of the cause for titles and fixes (``leader``, ``zone``, ``edge``, ``edge-slow``, ``stale``
    ...)."""

    @property
    def is_weakness(self) -> bool:
        return self.cause is not None

    @property
    def component(self) -> str:
        """What the weakness is of, the key findings are grouped by: one weakness per component.

        On a request path the component is the workload whose loss or slowness reached users: its own
        shortcomings (one replica, colocated replicas, a leader, no PDB, no spare GPUs) and those of the
        calls into it (no fallback, a timeout below its tail, retries that multiply its load) are aspects
        of one weakness, and one fix (spread replicas, a fallback on every critical call) covers them. The
        edge in front of an entry point is its own component; every other cause is its own.
        """
        if self.cause is None:
            return ""
        own = self.cause is RootCause.NO_FALLBACK and self.variant in ("edge", "edge-slow", "stale")
        if self.cause in PATH_CAUSES and not own:
            return f"path|{self.targets[-1]}"
        return f"{self.cause.value}|{self.locus}"


PATH_CAUSES = frozenset({
    RootCause.SINGLE_REPLICA_ON_PATH, RootCause.COLOCATED_REPLICAS, RootCause.NO_SPARE_GPU_CAPACITY,
    RootCause.PDB_MISSING_OR_UNMEETABLE, RootCause.RETRY_AMPLIFICATION, RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL,
    RootCause.NO_FALLBACK,
})
"""Causes that are aspects of one component on a request path (``Diagnosis.component``)."""
PRIORITY: tuple[RootCause, ...] = (
    RootCause.SINGLE_REPLICA_ON_PATH, RootCause.COLOCATED_REPLICAS, RootCause.NO_SPARE_GPU_CAPACITY,
    RootCause.PDB_MISSING_OR_UNMEETABLE, RootCause.RETRY_AMPLIFICATION, RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL,
    RootCause.NO_FALLBACK, RootCause.EPHEMERAL_STATE, RootCause.NO_USABLE_CHECKPOINT, RootCause.NO_DRIFT_MONITOR,
    RootCause.NO_SCHEMA_CHECK, RootCause.UNEXPLAINED,
)
"""Which aspect names a weakness of several: the one that takes the most of the path down comes first."""


def weakness_id(component: str) -> str:
    """Stable across runs and game days: a hash of the component (``Diagnosis.component``)."""
    return "W-" + hashlib.sha256(component.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Aspect:
    """One cause of a weakness and where it sits (a weakness of a component may have several)."""

    cause: RootCause
    locus: str
    variant: str
    detail: str


@dataclass(frozen=True)
class Weakness:
    """One root cause that breaks a steady state under design-basis faults, with its evidence."""

    id: str
    cause: RootCause
    """The leading aspect's cause (``PRIORITY``); ``aspects`` lists every cause seen."""
    locus: str
    """The component: a workload key, an entry Service key, or the leading aspect's locus."""
    title: str
    explanation: str
    targets: tuple[str, ...]
    slos: tuple[str, ...]
    """The steady-state bounds it breaks, as hypotheses (``ns/Service/x availability >= 0.99``)."""
    severity: float
    """0..1: the worst SLO impact of its findings times the importance of the path it sits on."""
    importance: float
    """0.5..1: how much of the entry traffic the path carries (0.5 for what serves no request)."""
    findings: tuple[str, ...]
    """Finding ids, the evidence: every experiment that reproduced it."""
    aspects: tuple[Aspect, ...]

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity)

    @property
    def variant(self) -> str:
        return self.aspects[0].variant if self.aspects else ""


@dataclass(frozen=True)
class Impact:
    """A breach under faults beyond the design basis: the blast radius of an extreme fault, not a weakness."""

    finding: str
    faults: tuple[Fault, ...]
    violation: Violation
    affected: tuple[str, ...]
    reason: str
    """Why the faults are beyond the design basis."""
