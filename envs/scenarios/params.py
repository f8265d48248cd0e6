"""Generator parameters and the presets: training clusters, held-out clusters, and the leave-one-family-out
splits.

The benchmark protocol (docs/benchmark-protocol.md) asks that held-out topologies differ from training
ones in more than seeds: every name comes from a pool training never uses and they are larger
(``scale``). Physical parameters (timings, load, latency) are drawn per cluster in both. A
leave-one-family-out split trains on every family but one and tests on that one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from envs.scenarios.families import FAMILY_NAMES
from envs.scenarios.names import NamePool


@dataclass(frozen=True)
class GeneratorParams:
    """What ``generate`` builds: clusters of ``families`` (one per seed, in turn), names from ``name_pool``."""

    name_pool: NamePool = "training"
    """Which disjoint pool service, job and node names come from."""
    families: tuple[str, ...] = FAMILY_NAMES
    """The topology families drawn from: seed ``s`` builds ``families[s % len(families)]``."""
    scale: float = 1.0
    """Multiplies every count a family draws (services, datastores, jobs, pipelines)."""

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("GeneratorParams.families must name at least one family")
        unknown = [f for f in self.families if f not in FAMILY_NAMES]
        if unknown:
            raise ValueError(f"GeneratorParams.families: unknown {', '.join(unknown)}; "
                             f"known: {', '.join(FAMILY_NAMES)}")
        if not 0.2 <= self.scale <= 10:
            raise ValueError(f"GeneratorParams.scale must be within 0.2..10, got {self.scale}")

    def family(self, seed: int) -> str:
        return self.families[seed % len(self.families)]

    def without(self, family: str) -> GeneratorParams:
        """The same parameters without ``family``: the training side of leave-one-family-out."""
        return dataclasses.replace(self, families=tuple(f for f in self.families if f != family))

    def only(self, family: str) -> GeneratorParams:
        """The same parameters with ``family`` alone: the test side of leave-one-family-out."""
        return dataclasses.replace(self, families=(family,))


TRAINING = GeneratorParams(scale=1.3)
HELD_OUT = GeneratorParams(name_pool="held_out", scale=1.8)
HELD_OUT_LARGE = GeneratorParams(name_pool="held_out", scale=4.0)
"""Three times as many of everything a family draws: a size training never sees."""
HELD_OUT_SETS = {"held-out": HELD_OUT, "held-out-large": HELD_OUT_LARGE,
                 **{f"held-out-{f}": HELD_OUT.only(f) for f in FAMILY_NAMES}}
"""The held-out sets by name; ``held-out-<family>`` is one family alone (leave-one-family-out's test side)."""
