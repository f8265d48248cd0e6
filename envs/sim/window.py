"""The request signals over the window since the previous sample, as Prometheus reports them.

A sample is what ``rate()`` over the scrape interval shows, not an instant: availability is the share of
requests answered over the window (time-weighted), and latency p99 is the 99th percentile over it (a
state that lasted more than 1 % of the window sets it). A ten-second outage between two samples is
therefore seen, as a real scrape would see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster

TAIL = 0.01


class SignalWindow:
    def __init__(self, t0: float) -> None:
        self.start = self.last = t0
        self.availability: dict[str, float] = {}
        self.latency: dict[str, list[tuple[float, float]]] = {}

    def settle(self, sim: SimulatedCluster) -> None:
        """Integrate the state in force over [last, now]; call before the state changes."""
        dt = sim.t - self.last
        if dt <= 0:
            return
        tr = sim.traffic()
        for key, share in tr.availability.items():
            self.availability[key] = self.availability.get(key, 0.0) + share * dt
        for key, ms in tr.latency_p99_ms.items():
            segments = self.latency.setdefault(key, [])
            if segments and segments[-1][0] == ms:
                segments[-1] = (ms, segments[-1][1] + dt)
            else:
                segments.append((ms, dt))
        self.last = sim.t

    def close(self, sim: SimulatedCluster) -> tuple[dict[str, float], dict[str, float]] | None:
        """The window's availability and p99 per entry point, then a new window; None if no time passed."""
        self.settle(sim)
        total = self.last - self.start
        if total <= 0:
            return None
        availability = {k: v / total for k, v in self.availability.items()}
        latency = {k: _tail(segments, total) for k, segments in self.latency.items()}
        self.start = self.last = sim.t
        self.availability, self.latency = {}, {}
        return availability, latency


def _tail(segments: list[tuple[float, float]], total: float) -> float:
    """The latency that more than ``TAIL`` of the window's time sat at or above."""
    covered = 0.0
    for ms, dt in sorted(segments, reverse=True):
        covered += dt
        if covered > TAIL * total:
            return ms
    return min(ms for ms, _ in segments)
