"""The physical parameters of a generated cluster, drawn per cluster: Kubernetes timings, load, latency.

A policy that only ever saw Kubernetes' default timings and one load range learns the defaults, not the
system: here every cluster gets its own node-monitor grace period, eviction toleration, controller and
scheduling delays, restart back-off and drain retry, and its own scale of traffic, service latency and
start-up time. The ranges span what stock and tuned clusters run with.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from envs.sim.timings import Timings


@dataclass(frozen=True)
class Physics:
    timings: Timings
    load_scale: float
    """Multiplies every entry point's requests per second."""
    latency_scale: float
    """Multiplies every service's own latency."""
    startup_scale: float
    """Multiplies every pod's start-up time (image pull and boot)."""

    def load(self, rps: float) -> float:
        return round(rps * self.load_scale, 1)

    def latency(self, ms: float) -> float:
        return round(ms * self.latency_scale, 1)

    def startup(self, s: float) -> float:
        return round(s * self.startup_scale, 1)


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def draw_physics(rng: random.Random) -> Physics:
    timings = Timings(
        node_monitor_grace_s=round(rng.uniform(20.0, 60.0), 1),
        toleration_s=float(rng.choice((30, 60, 120, 300, 300))),
        controller_s=round(rng.uniform(0.5, 3.0), 2),
        scheduling_s=round(rng.uniform(0.5, 4.0), 2),
        backoff_initial_s=round(rng.uniform(5.0, 20.0), 1),
        hpa_period_s=float(rng.choice((10, 15, 15, 30))),
        drain_retry_s=round(rng.uniform(2.0, 10.0), 1),
    )
    return Physics(timings=timings, load_scale=round(log_uniform(rng, 0.3, 3.0), 3),
                   latency_scale=round(log_uniform(rng, 0.5, 2.0), 3),
                   startup_scale=round(log_uniform(rng, 0.5, 2.0), 3))
