"""What a scenario is: a cluster spec plus the hidden answer key (planted weaknesses, decoys).

The answer key is for scoring only. Nothing in ``Scenario.spec`` names a class id or says which
workload is weak: an agent sees the spec and the symptoms, never these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from envs.cluster import Violation
from envs.faults import FaultKind
from envs.sim.timings import Timings
from envs.spec import ClusterSpec

WeaknessKind = Literal["shallow", "intensity", "two_fault", "state_dependent", "flaky", "ml"]
WEAKNESS_KINDS: tuple[WeaknessKind, ...] = (
    "shallow", "intensity", "two_fault", "state_dependent", "flaky", "ml",
)


@dataclass(frozen=True)
class FaultRequirement:
    """One fault that must be active: any of ``kinds`` on ``target`` at ``min_intensity`` or above."""

    kinds: frozenset[FaultKind]
    target: str
    """A workload key (``ns/Kind/name``) or a node key (``Node/name``)."""
    min_intensity: int = 0


@dataclass(frozen=True)
class Trigger:
    """An AND of requirements, each met by a different active fault."""

    requires: tuple[FaultRequirement, ...]

    def __post_init__(self) -> None:
        if not self.requires:
            raise ValueError("a trigger needs at least one fault requirement")

    @property
    def size(self) -> int:
        return len(self.requires)


@dataclass(frozen=True)
class PlantedWeakness:
    """A weakness the generator planted, with the faults that surface it.

    ``triggers`` is an OR of ANDs. ``triggers[0]`` is the canonical one: a concrete action (or a
    pair of actions; one fault kind per requirement, at its minimum intensity) that surfaces the
    weakness in the right cluster state, with probability ``p``, used by the oracle and by the
    completeness test. The rest list every other way the same weakness shows, so a finding
    reached another way still counts for this class.
    """

    class_id: str
    kind: str
    """A ``WeaknessKind`` for a planted weakness; for a generated key, its root cause (``envs.weaknesses``)."""
    violation: Violation
    affected: str
    """The workload key whose steady state breaks (the verdict's ``Breach.subject``)."""
    triggers: tuple[Trigger, ...]
    description: str
    p: float = 1.0
    """Chance that the canonical trigger surfaces it per try (below 1 for flaky weaknesses)."""
    surfacing: int = 1
    """How many leading triggers surface it by design (in the right state, with chance ``p`` for
    flaky ones); the triggers after them only make findings reached other ways (a fault that also
    touches the weak workload, a held pair) count for this class."""
    subjects: tuple[str, ...] = ()
    """Every workload whose steady state it was seen to break (a generated key; ``affected`` is one)."""
    violations: tuple[str, ...] = ()
    """Every violation it was seen to cause (a generated key; ``violation`` is the commonest)."""
    culprit: str = ""
    """The workload the weakness lives in (a generated key: what its root cause would fix)."""
    component: str = ""
    """The root-cause analysis's component (``envs.weaknesses.Diagnosis.component``; a generated key): a
    finding diagnosed to it is this weakness, whichever fault showed it."""
    rates: tuple[float, ...] = ()
    """Per trigger (a generated key): the share of sampled cluster states in which it showed the weakness."""
    blast_s: tuple[float, ...] = ()
    """Per trigger (a generated key): the SLO budget it burned when it did, in seconds (median)."""

    @property
    def surfacing_triggers(self) -> tuple[Trigger, ...]:
        """The triggers worth trying: what a teacher or an oracle should aim at."""
        return self.triggers[: self.surfacing]


@dataclass(frozen=True)
class Decoy:
    """A configuration a static linter would flag that does not break any steady state."""

    target: str
    description: str


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    spec: ClusterSpec
    weaknesses: tuple[PlantedWeakness, ...]
    decoys: tuple[Decoy, ...]
    control: bool
    """A no-fault control: no weakness at all, so every finding in it is false."""
    family: str = ""
    """The topology family of a generated cluster (``envs.scenarios.families``); "" for a hand-made one."""
    timings: Timings = field(default_factory=Timings)
    """The cluster's Kubernetes timings, drawn per generated cluster (``envs.scenarios.physics``)."""

    def weakness(self, class_id: str) -> PlantedWeakness:
        for w in self.weaknesses:
            if w.class_id == class_id:
                return w
        raise KeyError(class_id)
