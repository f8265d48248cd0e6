"""Calibration of the twin by real game days: what each experiment on the real cluster showed about its
timings, kept beside the findings store and applied to every simulation of that cluster's twin.

``GameDayCalibration`` watches a game day: while a pod kill, eviction or node failure runs it snapshots the
cluster at each steady-state sample, and when the experiment ends it turns the snapshots into observations
(envs/calibration.py) and records them. The file, ``<findings folder>/twin-calibration.json``, holds one
calibration per cluster, the cluster ``[cluster.kubernetes]`` names (its context, or "kubernetes"): the
twin of that cluster's manifests, trained or planned on, uses it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.config import Config
from agent.errors import ChaosAgentError
from envs.calibration import KINDS, Calibration, Estimate, Kind, Observation, observations
from envs.cluster import ClusterState, Injection, SteadyStateSample
from envs.cluster_under_test import World
from envs.experiment import ExperimentResult
from envs.faults import Fault, FaultKind
from envs.spec import ClusterSpec

FILE = "twin-calibration.json"
FORMAT = 1
WATCHED = frozenset({FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.NODE_FAILURE})
"""Faults whose experiments show a timing the twin has: snapshots are taken only while one runs."""


def calibration_path(config: Config) -> Path:
    return config.findings.path.parent / FILE


def cluster_name(config: Config) -> str:
    return config.cluster.kubernetes.context or "kubernetes"


class CalibrationStore:
    """The calibration file: ``{"format": 1, "clusters": {name: {"kind|subject": [mean_s, count]}}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self, cluster: str) -> Calibration:
        return self._read().get(cluster, Calibration())

    def record(self, cluster: str, seen: list[Observation]) -> Calibration:
        with self._lock:
            everything = self._read()
            updated = everything.get(cluster, Calibration()).observe(seen)
            everything[cluster] = updated
            self._write(everything)
            return updated

    def _read(self) -> dict[str, Calibration]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise ChaosAgentError(f"{self.path}: not a twin calibration file ({e}); move it away") from e
        if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("clusters"), dict):
            raise ChaosAgentError(f"{self.path}: not a twin calibration file of format {FORMAT}; move it away")
        return {name: _decode(self.path, data) for name, data in raw["clusters"].items()}

    def _write(self, everything: Mapping[str, Calibration]) -> None:
        data = {"format": FORMAT, "clusters": {name: {f"{k}|{s}": [round(e.mean_s, 3), e.count]
                                                      for (k, s), e in sorted(c.estimates.items())}
                                               for name, c in sorted(everything.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, self.path)


def _decode(path: Path, data: object) -> Calibration:
    estimates: dict[tuple[Kind, str], Estimate] = {}
    if not isinstance(data, dict):
        raise ChaosAgentError(f"{path}: a cluster's calibration is not a mapping")
    for key, value in data.items():
        kind, _, subject = str(key).partition("|")
        ok = (kind in KINDS and isinstance(value, list) and len(value) == 2 and isinstance(value[0], int | float)
              and isinstance(value[1], int) and value[0] >= 0 and value[1] >= 1)
        if not ok:
            raise ChaosAgentError(f"{path}: entry {key!r} = {value!r} is not [mean seconds, count]")
        estimates[(KINDS[KINDS.index(kind)], subject)] = Estimate(float(value[0]), int(value[1]))
    return Calibration(estimates)


def calibrated(spec: ClusterSpec, config: Config) -> ClusterSpec:
    """``spec`` with this cluster's calibration applied (unchanged when there is none yet)."""
    from envs.calibration import apply

    calibration = CalibrationStore(calibration_path(config)).load(cluster_name(config))
    return apply(calibration, spec) if calibration.estimates else spec


class GameDayCalibration:
    """Watches one game day's experiments and records what they showed. Thread-confined to the game day."""

    def __init__(self, store: CalibrationStore, cluster: str) -> None:
        self.store = store
        self.cluster = cluster
        self._fault: Fault | None = None
        self._timeline: list[ClusterState] = []
        self._samples: list[SteadyStateSample] = []

    def watch(self, world: World) -> World:
        """``world`` with its backend's injections and its steady state's samples seen by this calibration."""
        return World(spec=world.spec, backend=_Backend(world.backend, self), steady=_Steady(world, self),
                     anomaly=world.anomaly, label=world.label)

    def injected(self, fault: Fault, injection: Injection) -> None:
        if injection.outcome == "applied" and fault.kind in WATCHED:
            self._fault = fault

    def sampled(self, sample: SteadyStateSample, snapshot: Callable[[], ClusterState]) -> None:
        if self._fault is not None:
            self._timeline.append(snapshot())
            self._samples.append(sample)

    def finished(self, result: ExperimentResult, spec: ClusterSpec) -> None:
        """One experiment ended: record what it showed, forget its snapshots."""
        if self._fault is not None and self._timeline:
            seen = observations(result.injection.fault, result.started_s, self._timeline, self._samples, spec)
            if seen:
                self.store.record(self.cluster, seen)
        self._fault, self._timeline, self._samples = None, [], []


class _Backend:
    def __init__(self, inner: Any, owner: GameDayCalibration) -> None:
        self._inner, self._owner = inner, owner

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        injection: Injection = self._inner.inject(fault, injection_id=injection_id)
        self._owner.injected(fault, injection)
        return injection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Steady:
    def __init__(self, world: World, owner: GameDayCalibration) -> None:
        self._world, self._owner = world, owner

    def sample(self) -> SteadyStateSample:
        sample = self._world.steady.sample()
        self._owner.sampled(sample, self._world.backend.snapshot)
        return sample
