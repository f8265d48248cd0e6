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
    """A finer shape of the cause for titles and fixes (``leader``, ``zone``, ``edge``, ``stale`` ...)."""

    @property
    def is_weakness(self) -> bool:
        return self.cause is not None


def weakness_id(cause: RootCause, locus: str) -> str:
    """Stable across runs and game days: the cause and where it sits."""
    return "W-" + hashlib.sha256(f"{cause.value}|{locus}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Weakness:
    """One root cause that breaks a steady state under design-basis faults, with its evidence."""

    id: str
    cause: RootCause
    locus: str
    title: str
    explanation: str
    targets: tuple[str, ...]
    slos: tuple[str, ...]
    """The steady-state bounds it breaks, as hypotheses (``ns/Service/x availability >= 0.99``)."""
    severity: float
    """0..1: the worst SLO impact of its findings times the importance of the path it sits on."""
    importance: float
    """0..1: the share of entry traffic on the path (0.5 for what serves no request), see docs/weaknesses.md."""
    findings: tuple[str, ...]
    """Finding ids, the evidence: every experiment that reproduced it."""
    variant: str = ""

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity)


@dataclass(frozen=True)
class Impact:
    """A breach under faults beyond the design basis: the blast radius of an extreme fault, not a weakness."""

    finding: str
    faults: tuple[Fault, ...]
    violation: Violation
    affected: tuple[str, ...]
    reason: str
    """Why the faults are beyond the design basis."""
