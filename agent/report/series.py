"""The numbers behind the report's pictures, as pure functions, so they are checked without pixels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.findings.experiments import ExperimentRecord
from envs.cluster import SteadyStateSample


def discovery_series(first_injections: Sequence[int], injections: int) -> list[int]:
    """Distinct findings known after each injection: element i counts those first seen at injection <= i + 1
    (injections are numbered from 1, as the progress lines show them)."""
    firsts = sorted(first_injections)
    out, k = [], 0
    for number in range(1, injections + 1):
        while k < len(firsts) and firsts[k] <= number:
            k += 1
        out.append(k)
    return out


def _samples(experiments: Sequence[ExperimentRecord]) -> list[SteadyStateSample]:
    seen: dict[float, SteadyStateSample] = {}
    for r in experiments:
        for s in r.samples:
            seen.setdefault(s.time_s, s)
    return [seen[t] for t in sorted(seen)]


def signal_series(experiments: Sequence[ExperimentRecord], field: str) -> dict[str, list[tuple[float, float]]]:
    """Each key's (time, value) points of one steady-state field across the game day."""
    out: dict[str, list[tuple[float, float]]] = {}
    for s in _samples(experiments):
        values: Mapping[str, float] = getattr(s, field)
        for key, v in values.items():
            out.setdefault(key, []).append((s.time_s, float(v)))
    return out
