"""Anomaly scores per target from Prometheus: a robust z-score of the current window against a baseline.

For each golden signal (agent/prometheus/signals.py) one range query covers every target. Its series
are mapped to targets and combined per timestamp; the points before the current window are the
baseline. The signal's score is ``(median(current) - median(baseline)) / scale`` in its anomalous
direction, where ``scale = max(1.4826 * MAD(baseline), abs_floor, rel_floor * |median(baseline)|)``:
1.4826 makes the MAD estimate a standard deviation under normality, and the floors keep a flat
baseline (MAD 0) from turning any wiggle into infinity. A target's score is its largest weighted
signal score. ``PrometheusAnomalySource`` implements ``envs.cluster.AnomalySource``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from agent.config.prometheus import AnomalySettings
from agent.prometheus.client import PrometheusClient, Series
from agent.prometheus.signals import SIGNALS, Direction, Signal, resolve
from agent.prometheus.targets import TargetIndex

MAD_TO_SIGMA = 1.4826


def robust_score(baseline: Sequence[float], current: Sequence[float], *, direction: Direction,
                 abs_floor: float, rel_floor: float = 0.0, cap: float = math.inf) -> float | None:
    """How many robust standard deviations the current window lies from the baseline, in ``direction``.

    None when either window has no finite point (no evidence either way); otherwise in [0, cap].
    """
    base = [x for x in baseline if math.isfinite(x)]
    now = [x for x in current if math.isfinite(x)]
    if not base or not now:
        return None
    centre = statistics.median(base)
    mad = statistics.median(abs(x - centre) for x in base)
    scale = max(MAD_TO_SIGMA * mad, abs_floor, rel_floor * abs(centre))
    if scale <= 0:
        raise ValueError(f"robust_score needs a positive floor, got {abs_floor=}, {rel_floor=}")
    z = (statistics.median(now) - centre) / scale
    signed = {"up": z, "down": -z, "both": abs(z)}[direction]
    return min(cap, max(0.0, signed))


@dataclass(frozen=True)
class SignalScore:
    signal: str
    score: float
    weight: float


@dataclass(frozen=True)
class AnomalyReport:
    """Every scored signal per target at ``time_s``, and each target's combined score."""

    time_s: float
    by_target: Mapping[str, tuple[SignalScore, ...]]
    combined: Mapping[str, float]


def per_target_points(signal: Signal, series: Sequence[Series],
                      index: TargetIndex) -> dict[str, dict[float, float]]:
    """Target key -> {time: value}, combining every series of the target with the signal's aggregation."""
    out: dict[str, dict[float, float]] = {}
    for s in series:
        for key in resolve(signal, s.labels, index):
            points = out.setdefault(key, {})
            for t, v in s.points:
                if t not in points:
                    points[t] = v
                elif signal.aggregation == "sum":
                    points[t] += v
                else:
                    points[t] = max(points[t], v)
    return out


class PrometheusAnomalySource:
    """Scores every known target from Prometheus; raises PrometheusUnavailable rather than guess."""

    def __init__(self, *, client: PrometheusClient, targets: Callable[[], TargetIndex],
                 settings: AnomalySettings, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._targets = targets
        self._settings = settings
        self._clock = clock

    def scores(self) -> Mapping[str, float]:
        return self.report().combined

    def report(self) -> AnomalyReport:
        cfg = self._settings
        index = self._targets()
        now = self._clock()
        split = now - cfg.current_window_s
        start = split - cfg.baseline_window_s
        by_target: dict[str, list[SignalScore]] = {key: [] for key in index.target_keys()}
        for signal in SIGNALS:
            weight = cfg.weights.get(signal.name, 1.0)
            if weight <= 0:
                continue
            series = self._client.range(signal.promql(cfg.rate_window_s), start=start, end=now,
                                        step_s=cfg.step_s)
            for key, points in per_target_points(signal, series, index).items():
                baseline = [v for t, v in points.items() if t <= split]
                current = [v for t, v in points.items() if t > split]
                score = robust_score(baseline, current, direction=signal.direction, cap=cfg.max_score,
                                     abs_floor=signal.abs_floor, rel_floor=signal.rel_floor)
                if score is not None:
                    by_target.setdefault(key, []).append(SignalScore(signal.name, score, weight))
        combined = {key: max((s.score * s.weight for s in scored), default=0.0)
                    for key, scored in by_target.items()}
        return AnomalyReport(time_s=now, by_target={k: tuple(v) for k, v in by_target.items()},
                             combined=combined)
