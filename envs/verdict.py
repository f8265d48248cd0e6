"""The verdict: which steady-state bounds an experiment broke, with the numbers as evidence.

A pure function of the topology and the samples taken before, during and after a fault. A bound
counts as broken only when it held before the fault: a violation that predates the injection is not
the injection's finding. This is the single place that decides what a finding is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from envs.cluster import SteadyStateSample, Violation
from envs.memo import per_spec
from envs.spec import ClusterSpec, ServiceSpec, data_loss_signal

MAX_BAD_ROWS = 0.05
"""Share of bad input rows a model tolerates before its predictions count as degraded."""
COMPARATORS: dict[Violation, str] = {
    "availability": ">=",
    "latency": "<=",
    "training_progress": "<=",
    "data_loss": "<=",
    "undetected_drift": ">=",
    "data_quality": "<=",
}
"""How each bound reads as a hypothesis: the signal must stay on this side of the threshold."""


@dataclass(frozen=True)
class Breach:
    """One broken steady-state bound, with the signal before, at its worst, and at the end."""

    violation: Violation
    subject: str
    """Workload key whose steady state broke."""
    signal: str
    """The signal's key (an entry Service, a job, a model) and name, for the evidence."""
    threshold: float
    before: float
    worst: float
    after: float
    detect_s: float
    """Seconds from the fault's start to the first sample in breach."""
    recover_s: float | None
    """Seconds from the revert until the bound held again (None: not within the window)."""
    breach_s: float
    """Time spent in breach, the SLO budget burned."""

    @property
    def severity(self) -> float:
        return severity_score(self)

    @property
    def hypothesis(self) -> str:
        """The steady-state bound that broke, as a hypothesis: ``ns/Service/x availability >= 0.99``."""
        return f"{self.signal} {COMPARATORS[self.violation]} {self.threshold:g}"


def severity_score(b: Breach) -> float:
    """0..1: how bad the breach was, comparable across violation kinds."""
    if b.violation == "availability":
        raw = 0.3 + 1.4 * max(0.0, b.threshold - b.worst)
    elif b.violation in ("latency", "training_progress"):
        raw = 0.3 + 0.35 * max(0.0, b.worst / max(b.threshold, 1e-9) - 1.0)
    elif b.violation == "data_loss":
        raw = 0.9
    elif b.violation == "undetected_drift":
        raw = 0.6 + 2.0 * max(0.0, b.threshold - b.worst)
    else:
        raw = 0.4 + b.worst
    return round(min(1.0, raw), 3)


def severity_label(score: float) -> str:
    return "critical" if score >= 0.8 else "high" if score >= 0.6 else "medium" if score >= 0.4 else "low"


def backing_workloads(spec: ClusterSpec, service: ServiceSpec) -> tuple[str, ...]:
    """Keys of the workloads whose pods a Service selects."""
    return tuple(
        w.key for w in spec.workloads
        if w.namespace == service.namespace and service.selector.matches(w.template.label_map)
    )


def upstream_pipelines(spec: ClusterSpec, model_key: str) -> frozenset[str]:
    """Pipeline workloads whose data reaches the model, through ``Pipeline.feeds`` chains."""
    feeds_into: dict[str, set[str]] = {}
    for w in spec.workloads:
        if w.pipeline is None:
            continue
        for svc_key in w.pipeline.feeds:
            try:
                targets = backing_workloads(spec, spec.service(svc_key))
            except KeyError:
                continue
            for t in targets:
                feeds_into.setdefault(t, set()).add(w.key)
    seen: set[str] = set()
    frontier = [model_key]
    while frontier:
        for source in feeds_into.get(frontier.pop(), ()):
            if source not in seen:
                seen.add(source)
                frontier.append(source)
    seen.add(model_key)
    return frozenset(seen)


@dataclass(frozen=True)
class _Bound:
    violation: Violation
    subjects: tuple[str, ...]
    signal: str
    threshold: float
    value: Callable[[SteadyStateSample], float | None]
    lower_is_worse: bool
    """True for floors (availability, accuracy), False for ceilings (latency, losses)."""

    def broken(self, v: float) -> bool:
        return v < self.threshold if self.lower_is_worse else v > self.threshold


def _availability(key: str, s: SteadyStateSample) -> float | None:
    return s.availability.get(key)


def _latency(key: str, s: SteadyStateSample) -> float | None:
    return s.latency_p99_ms.get(key)


def _progress_lost_since(key: str, base: float, s: SteadyStateSample) -> float | None:
    return s.training_progress_lost_s.get(key, base) - base


def _data_lost_since(key: str, base: float, s: SteadyStateSample) -> float | None:
    return float(s.data_lost.get(key, base) - base)


def _bad_rows(key: str, s: SteadyStateSample) -> float | None:
    return s.bad_rows.get(key)


@dataclass(frozen=True)
class _Topology:
    """What the bounds need from a spec, computed once per spec object."""

    services: dict[str, ServiceSpec]
    subjects: dict[str, tuple[str, ...]]
    upstream: dict[str, frozenset[str]]
    data_signal: dict[str, str]
    """Workload key -> what its data loss is measured in (``envs.spec.data_loss_signal``)."""


@per_spec
def _topology(spec: ClusterSpec) -> _Topology:
    services = {s.key: s for s in spec.services}
    subjects = {k: backing_workloads(spec, s) or (k,) for k, s in services.items()}
    upstream = {w.key: upstream_pipelines(spec, w.key) for w in spec.workloads if w.pipeline is not None}
    return _Topology(services, subjects, upstream, {w.key: data_loss_signal(w) for w in spec.workloads})


def _bounds(spec: ClusterSpec, before: SteadyStateSample) -> Iterable[_Bound]:
    topo = _topology(spec)
    for svc_key in before.availability:
        svc = topo.services[svc_key]
        subjects = topo.subjects[svc_key]
        yield _Bound("availability", subjects, f"{svc_key} availability", svc.slo.availability,
                     partial(_availability, svc_key), lower_is_worse=True)
        yield _Bound("latency", subjects, f"{svc_key} latency_p99_ms", svc.slo.latency_p99_ms,
                     partial(_latency, svc_key), lower_is_worse=False)
    limit = spec.model_slo.max_training_progress_lost_s
    for job, lost_s in before.training_progress_lost_s.items():
        yield _Bound("training_progress", (job,), f"{job} training_progress_lost_s", limit,
                     partial(_progress_lost_since, job, lost_s), lower_is_worse=False)
    for sts, lost in before.data_lost.items():
        yield _Bound("data_loss", (sts,), f"{sts} {topo.data_signal.get(sts, 'pods_with_data_lost')}", 0.0,
                     partial(_data_lost_since, sts, lost), lower_is_worse=False)
    min_acc = spec.model_slo.min_accuracy
    for model in before.accuracy:
        yield _Bound("undetected_drift", (model,), f"{model} accuracy (drift undetected)", min_acc,
                     partial(_undetected_accuracy, model, topo.upstream.get(model) or upstream_pipelines(spec, model)),
                     lower_is_worse=True)
    for model in before.bad_rows:
        yield _Bound("data_quality", (model,), f"{model} bad_rows_share", MAX_BAD_ROWS,
                     partial(_bad_rows, model), lower_is_worse=False)


def _undetected_accuracy(model: str, upstream: frozenset[str], s: SteadyStateSample) -> float | None:
    """The model's accuracy while no monitor on its path has flagged drift (1.0 once flagged)."""
    if any(s.drift_detected.get(p, False) for p in upstream):
        return 1.0
    return s.accuracy.get(model)


def judge(spec: ClusterSpec, before: SteadyStateSample, during: Sequence[SteadyStateSample],
          after: Sequence[SteadyStateSample], *, started_s: float, reverted_s: float,
          sample_every_s: float) -> tuple[Breach, ...]:
    """Every bound that held ``before`` and broke during or after the fault."""
    breaches: list[Breach] = []
    window = [*during, *after]
    for bound in _bounds(spec, before):
        base = bound.value(before)
        if base is None or bound.broken(base):
            continue
        values = [(s.time_s, bound.value(s)) for s in window]
        hits = [(t, v) for t, v in values if v is not None and bound.broken(v)]
        if not hits:
            continue
        worst_of = min if bound.lower_is_worse else max
        worst = worst_of(v for _, v in hits)
        last = next((v for _, v in reversed(values) if v is not None), base)
        recover = next((t - reverted_s for t, v in values
                        if t >= reverted_s and t > hits[-1][0] and v is not None and not bound.broken(v)), None)
        for subject in bound.subjects:
            breaches.append(Breach(
                violation=bound.violation, subject=subject, signal=bound.signal, threshold=bound.threshold,
                before=round(base, 6), worst=round(worst, 6), after=round(last, 6),
                detect_s=round(hits[0][0] - started_s, 3), recover_s=None if recover is None else round(recover, 3),
                breach_s=len(hits) * sample_every_s,
            ))
    return tuple(breaches)


def baseline_holds(spec: ClusterSpec, sample: SteadyStateSample) -> bool:
    """True when every request bound holds: the cluster is in its steady state."""
    for bound in _bounds(spec, sample):
        value = bound.value(sample)
        if bound.violation in ("availability", "latency", "undetected_drift", "data_quality") and (
            value is not None and bound.broken(value)
        ):
            return False
    return True
