"""Anomaly scores read from the cluster's own state, for worlds without Prometheus (the simulator).

A target scores by how far it is from its steady state right now: the share of replicas not ready,
pods pending, and restarts since the previous reading (a crash-looping pod is anomalous even while
ready). Nodes score when not ready. Same scale as the Prometheus scorer: about 3 is clearly anomalous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from envs.cluster import ClusterBackend


class SnapshotAnomaly:
    def __init__(self, backend: ClusterBackend) -> None:
        self.backend = backend
        self._restarts: dict[str, int] = {}

    def scores(self) -> Mapping[str, float]:
        state = self.backend.snapshot()
        out: dict[str, float] = {}
        for key, w in state.workloads.items():
            score = 0.0
            if w.desired:
                score += 4.0 * max(0, w.desired - w.ready) / w.desired + 2.0 * w.pending / w.desired
            new_restarts = w.restarts - self._restarts.get(key, w.restarts)
            self._restarts[key] = w.restarts
            score += 1.5 * math.log1p(max(new_restarts, 0))
            if score > 0:
                out[key] = round(score, 3)
        for key, n in state.nodes.items():
            if not n.ready:
                out[key] = 5.0
        return out
