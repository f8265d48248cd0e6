"""The cluster under test: one cluster the env plays a game day on (a ``World``), with its steady-state
and anomaly sources.

The env is given a ``WorldFactory`` and asks it for a fresh world on every reset, so the same env
trains on generated simulated clusters, runs on the Kubernetes emulator in tests, and on a real
cluster (a factory that always returns the same world).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.cluster import ClusterBackend, ClusterState, SteadyStateSource
from envs.spec import ClusterSpec


@dataclass
class World:
    spec: ClusterSpec
    backend: ClusterBackend
    steady: SteadyStateSource
    anomaly: Any = None
    """An ``envs.cluster.AnomalySource``; None means no anomaly signal."""
    label: Any = None
    """Opaque to the env (a scenario with hidden weakness ids, for scoring by the benchmark)."""

    def anomaly_scores(self) -> Mapping[str, float]:
        return {} if self.anomaly is None else self.anomaly.scores()

    def converged(self) -> bool:
        """Every workload back at its desired ready count and no node down."""
        fast = getattr(self.backend, "converged", None)
        if callable(fast):
            return bool(fast())
        state: ClusterState = self.backend.snapshot()
        return all(w.ready >= w.desired for w in state.workloads.values()) and all(
            n.ready for n in state.nodes.values()
        )


WorldFactory = Callable[[np.random.Generator], World]
