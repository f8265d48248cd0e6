"""When a started container serves, turns Ready, or is killed by its probes, as the kubelet runs them.

The container runs at time 0 here; its process serves from ``cold_start_s`` (loading a model, warming a
JVM). Probes run at ``initialDelaySeconds + k * periodSeconds`` and succeed once the process serves; after
``failureThreshold`` failures in a row the kubelet kills the container (liveness and startup probes).
Readiness and liveness probes wait for a startup probe to succeed. Without a readiness probe a pod is
Ready when it starts (after its startup probe, if any) even while its process cannot serve yet: traffic
reaches it and fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from envs.spec import PodTemplate, Probe


@dataclass(frozen=True)
class StartPlan:
    """Seconds after the container starts."""

    serving_s: float
    ready_s: float | None
    """None: never Ready (the container is killed first)."""
    killed_s: float | None
    """The startup or liveness probe gives up and the kubelet restarts the container; None: it is not."""


def _first_success(probe: Probe, serving_s: float, not_before: float = 0.0) -> tuple[float, int]:
    """(time of the first probe at or after both ``serving_s`` and ``not_before``, failures before it)."""
    period = max(probe.period_s, 1.0)
    start = max(probe.initial_delay_s, not_before)
    k = max(0, math.ceil((serving_s - start) / period - 1e-9))
    return start + k * period, k


def plan(t: PodTemplate) -> StartPlan:
    serving = max(0.0, t.cold_start_s)
    started = 0.0
    if t.startup_probe is not None:
        started, failures = _first_success(t.startup_probe, serving)
        if failures >= t.startup_probe.failure_threshold:
            killed = t.startup_probe.initial_delay_s + (t.startup_probe.failure_threshold - 1) * max(
                t.startup_probe.period_s, 1.0)
            return StartPlan(serving, None, killed)
    elif t.liveness_probe is not None:
        _, failures = _first_success(t.liveness_probe, serving)
        if failures >= t.liveness_probe.failure_threshold:
            killed = t.liveness_probe.initial_delay_s + (t.liveness_probe.failure_threshold - 1) * max(
                t.liveness_probe.period_s, 1.0)
            ready = started if t.readiness_probe is None and killed > started else None
            return StartPlan(serving, ready, killed)
    if t.readiness_probe is None:
        return StartPlan(serving, started, None)
    ready, _ = _first_success(t.readiness_probe, max(serving, started), started)
    return StartPlan(serving, ready, None)
