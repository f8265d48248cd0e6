"""What the agent has learned about one cluster: every action it tried there, what each showed, and the
weaknesses it already knows. Plain data, no I/O: the agent persists it (``agent/memory.py``) beside the
findings store, so game day 2 starts where game day 1 stopped.

An outcome is ``new`` (a weakness not known before), ``known`` (only weaknesses already known),
``nothing`` (injected, nothing broke) or ``refused`` (nothing was injected: a PDB said no, the steady
state did not hold). Only ``new`` is new evidence: the streak of a target and fault kind counts the tries
since its last new evidence, and a target's manifest changing clears its streaks (it is a new target).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from envs.faults import INTENSITY_NAMES, FaultKind

ActionOutcome = Literal["new", "known", "nothing", "refused"]
ACTION_OUTCOMES: tuple[ActionOutcome, ...] = ("new", "known", "nothing", "refused")
MEMORY_FORMAT = "chaos-agent-memory/1"


class MemoryFormatError(ValueError):
    """A stored memory that this version cannot read (another format, a bad field)."""


@dataclass
class CellCounts:
    """Outcomes of one action (target x fault kind x intensity) over every game day."""

    new: int = 0
    known: int = 0
    nothing: int = 0
    refused: int = 0

    @property
    def tries(self) -> int:
        return self.new + self.known + self.nothing + self.refused

    @property
    def showed_a_weakness(self) -> bool:
        return self.new + self.known > 0

    def add(self, outcome: ActionOutcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


Cell = tuple[str, FaultKind, int]
Row = tuple[str, FaultKind]


@dataclass
class ClusterMemory:
    """Per-cluster history of outcomes, streaks without new evidence, and the weaknesses known."""

    cluster: str
    cells: dict[Cell, CellCounts] = field(default_factory=dict)
    streaks: dict[Row, int] = field(default_factory=dict)
    """(target, kind) -> tries since the last new evidence there (0 after a new weakness)."""
    known: set[str] = field(default_factory=set)
    """Identities of the weaknesses found on this cluster (in any game day)."""
    fingerprints: dict[str, str] = field(default_factory=dict)
    """Target -> a digest of its manifest when its tries were counted (a changed manifest resets them)."""
    game_days: int = 0
    injections: int = 0

    def record(self, target: str, kind: FaultKind, intensity: int, outcome: ActionOutcome) -> None:
        self.cells.setdefault((target, kind, intensity), CellCounts()).add(outcome)
        row = (target, kind)
        self.streaks[row] = 0 if outcome == "new" else self.streaks.get(row, 0) + 1
        self.injections += 1

    def learn(self, weaknesses: Iterable[str]) -> set[str]:
        """Add weakness identities; returns the ones not known before."""
        fresh = set(weaknesses) - self.known
        self.known |= fresh
        return fresh

    def streak(self, target: str, kind: FaultKind) -> int:
        return self.streaks.get((target, kind), 0)

    def tried_targets(self) -> set[str]:
        return {t for t, _, _ in self.cells}

    def refresh(self, fingerprints: Mapping[str, str]) -> list[str]:
        """Forget the tries of every target whose manifest changed (or that is gone); returns them.

        A changed target is new evidence in itself: what showed nothing before may break now."""
        changed = [t for t, fp in self.fingerprints.items() if fingerprints.get(t) != fp]
        gone = set(changed)
        self.cells = {c: n for c, n in self.cells.items() if c[0] not in gone}
        self.streaks = {r: n for r, n in self.streaks.items() if r[0] not in gone}
        self.fingerprints = {t: fp for t, fp in fingerprints.items()}
        return changed

    # -- plain JSON, never a pickle -----------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "format": MEMORY_FORMAT, "cluster": self.cluster, "game_days": self.game_days,
            "injections": self.injections, "known": sorted(self.known),
            "fingerprints": dict(sorted(self.fingerprints.items())),
            "cells": [[t, k.value, i, n.new, n.known, n.nothing, n.refused]
                      for (t, k, i), n in sorted(self.cells.items())],
            "streaks": [[t, k.value, n] for (t, k), n in sorted(self.streaks.items())],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ClusterMemory:
        if data.get("format") != MEMORY_FORMAT:
            raise MemoryFormatError(f"memory format {data.get('format')!r} is not {MEMORY_FORMAT!r}")
        raw: Any = data
        try:
            mem = cls(cluster=str(raw["cluster"]), game_days=int(raw["game_days"]), injections=int(raw["injections"]),
                      known=set(map(str, raw["known"])),
                      fingerprints={str(k): str(v) for k, v in raw["fingerprints"].items()})
            for t, k, i, *counts in raw["cells"]:
                if len(counts) != 4:
                    raise ValueError(f"a cell has {len(counts)} counts, not 4")
                mem.cells[(str(t), FaultKind(k), _intensity(i))] = CellCounts(*map(int, counts))
            for t, k, n in raw["streaks"]:
                mem.streaks[(str(t), FaultKind(k))] = int(n)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise MemoryFormatError(f"memory of cluster {data.get('cluster')!r} is malformed: {e}") from e
        return mem


def _intensity(value: Any) -> int:
    i = int(value)
    if not 0 <= i < len(INTENSITY_NAMES):
        raise ValueError(f"intensity {i} is not 0..{len(INTENSITY_NAMES) - 1}")
    return i


def tried_counts(memory: ClusterMemory, targets: Sequence[str]) -> dict[int, dict[FaultKind, tuple[int, bool]]]:
    """Per target index: fault kind -> (tries, showed a weakness), summed over intensities."""
    index = {t: i for i, t in enumerate(targets)}
    out: dict[int, dict[FaultKind, tuple[int, bool]]] = {}
    for (target, kind, _), counts in memory.cells.items():
        i = index.get(target)
        if i is None:
            continue
        tries, found = out.setdefault(i, {}).get(kind, (0, False))
        out[i][kind] = (tries + counts.tries, found or counts.showed_a_weakness)
    return out

