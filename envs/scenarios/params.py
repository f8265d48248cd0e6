"""Generator parameters and the two presets: training topologies and held-out topologies.

The benchmark protocol (docs/benchmark-protocol.md) asks that held-out topologies differ from training
ones in the generator's parameters, not only in seeds: ``HELD_OUT`` is bigger, carries more load, mixes
the weakness kinds differently and draws every name from a pool that ``TRAINING`` never uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.scenarios.records import WeaknessKind

NamePool = Literal["training", "held_out"]


@dataclass(frozen=True)
class GeneratorParams:
    """What ``generate`` builds; every count is a minimum the generator may raise to fit the plan."""

    name_pool: NamePool = "training"
    """Which disjoint pool service, job and node names come from."""
    entry_points: int = 2
    """Internet-facing Services; each is its own weakness (see docs/scenarios.md: entry points)."""
    services: int = 8
    """Robust internal serving workloads (APIs, caches, databases) behind fallback calls."""
    nodes: int = 8
    """General-purpose nodes (more are added when the plan pins more pods than this allows)."""
    gpu_nodes: int = 3
    zones: int = 3
    pipelines: int = 1
    """Robust data pipelines (producer -> feature store -> model)."""
    training_jobs: int = 1
    """Robust GPU training jobs (checkpoint every 10 minutes)."""
    load_rps: tuple[float, float] = (50.0, 200.0)
    """Range of requests per second per entry point."""
    shallow: int = 2
    intensity: int = 2
    two_fault: int = 2
    state_dependent: int = 1
    flaky: int = 1
    ml: int = 3
    decoys: int = 3
    control: bool = False
    """A no-fault control: no weakness (and so no entry point, see docs/scenarios.md), decoys kept."""

    def count(self, kind: WeaknessKind) -> int:
        return 0 if self.control else int(getattr(self, kind))

    def __post_init__(self) -> None:
        for name in ("entry_points", "services", "nodes", "gpu_nodes", "zones", "pipelines", "training_jobs",
                     "shallow", "intensity", "two_fault", "state_dependent", "flaky", "ml", "decoys"):
            if getattr(self, name) < 0:
                raise ValueError(f"GeneratorParams.{name} must be >= 0, got {getattr(self, name)}")
        if self.zones < 1:
            raise ValueError(f"GeneratorParams.zones must be >= 1, got {self.zones}")
        lo, hi = self.load_rps
        if not 0 < lo <= hi:
            raise ValueError(f"GeneratorParams.load_rps must be 0 < low <= high, got {self.load_rps}")


TRAINING = GeneratorParams()
HELD_OUT = GeneratorParams(
    name_pool="held_out", entry_points=3, services=12, nodes=12, gpu_nodes=4, zones=3, pipelines=2,
    training_jobs=2, load_rps=(150.0, 600.0), shallow=2, intensity=2, two_fault=2, state_dependent=2,
    flaky=1, ml=4, decoys=4,
)
HELD_OUT_LARGE = GeneratorParams(
    name_pool="held_out", entry_points=3, services=36, nodes=36, gpu_nodes=8, zones=3, pipelines=4,
    training_jobs=4, load_rps=(150.0, 600.0), shallow=2, intensity=2, two_fault=2, state_dependent=2,
    flaky=1, ml=4, decoys=4,
)
"""``HELD_OUT``'s weaknesses among three times its healthy services, nodes, pipelines and jobs (seed 10000: 78
workloads on 44 nodes against 46 on 23): the same needles in a bigger haystack, as in a real cluster where most
workloads are fine. Training never sees a cluster this big."""
HELD_OUT_SETS = {"held-out": HELD_OUT, "held-out-large": HELD_OUT_LARGE}
CONTROL_SHARE = 5
"""Every fifth held-out scenario (by position in the seed list) is a no-fault control."""
