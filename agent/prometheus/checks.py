"""Steady-state hypotheses and stop conditions as PromQL, checked before, during and after an injection.

A hypothesis holds when every series of its query satisfies ``value <comparison> threshold``; a stop
condition fires when any series does. A template naming ``$namespace``/``$name`` (or ``$node``) is
filled with the injection's target, checked and escaped; one that names what the target lacks (``$node``
for a workload) does not apply to it and is listed as skipped. No answer from Prometheus raises
PrometheusUnavailable: the caller must not inject.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.config.prometheus import Comparison, Phase, PromQLCheck
from agent.prometheus.client import PrometheusClient
from agent.prometheus.promql import fill_template, placeholders

CheckKind = Literal["hypothesis", "stop_condition"]

_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``ok`` is False for a failed hypothesis and for a fired stop condition."""

    name: str
    kind: CheckKind
    phase: Phase
    query: str
    comparison: Comparison
    threshold: float
    value: float | None
    """The deciding value: the worst series for a hypothesis, the most firing one for a stop condition;
    None when the query returned no series."""
    series: int
    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    phase: Phase
    target: str | None
    time_s: float
    results: tuple[CheckResult, ...]
    skipped: tuple[str, ...] = ()
    """Checks whose template needs a label the target does not have."""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed_hypotheses(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.kind == "hypothesis" and not r.ok)

    @property
    def fired_stop_conditions(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.kind == "stop_condition" and not r.ok)


def target_labels(target: str | None) -> dict[str, str]:
    """Template values of a target key: ``ns/Kind/name`` -> namespace, name; ``Node/name`` -> node."""
    if target is None:
        return {}
    parts = target.split("/")
    if len(parts) == 2 and parts[0] == "Node":
        return {"node": parts[1]}
    if len(parts) == 3:
        return {"namespace": parts[0], "name": parts[2]}
    raise ValueError(f"target {target!r} is neither ns/Kind/name nor Node/name")


def evaluate(check: PromQLCheck, kind: CheckKind, phase: Phase, query: str,
             values: Sequence[float]) -> CheckResult:
    """Judge the values of one query (pure: the rules above, without Prometheus)."""
    compare = _COMPARE[check.comparison]
    wants_low = check.comparison in ("<", "<=")
    if not values:
        ok = check.on_no_data == "pass"
        return CheckResult(check.name, kind, phase, query, check.comparison, check.threshold, None, 0, ok,
                           f"no series (on_no_data = {check.on_no_data})")
    if kind == "hypothesis":
        value = max(values) if wants_low else min(values)
        ok = all(compare(v, check.threshold) for v in values)
        verdict = "holds" if ok else "violated"
    else:
        value = min(values) if wants_low else max(values)
        ok = not any(compare(v, check.threshold) for v in values)
        verdict = "quiet" if ok else "fired"
    detail = f"{verdict}: {value:g} {check.comparison} {check.threshold:g} over {len(values)} series"
    return CheckResult(check.name, kind, phase, query, check.comparison, check.threshold, value,
                       len(values), ok, detail)


class SteadyStateChecks:
    """Runs the configured hypotheses and stop conditions against Prometheus."""

    def __init__(self, *, client: PrometheusClient, hypotheses: Sequence[PromQLCheck],
                 stop_conditions: Sequence[PromQLCheck], clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._checks: tuple[tuple[CheckKind, PromQLCheck], ...] = (
            *(("hypothesis", c) for c in hypotheses), *(("stop_condition", c) for c in stop_conditions))
        self._clock = clock

    def check(self, phase: Phase, *, target: str | None = None,
              kinds: tuple[CheckKind, ...] = ("hypothesis", "stop_condition")) -> CheckReport:
        """Every check of ``kinds`` configured for ``phase``, evaluated at the clock's time."""
        labels = target_labels(target)
        now = self._clock()
        results: list[CheckResult] = []
        skipped: list[str] = []
        for kind, check in self._checks:
            if phase not in check.phases or kind not in kinds:
                continue
            if not placeholders(check.query) <= labels.keys():
                skipped.append(check.name)
                continue
            query = fill_template(check.query, {k: v for k, v in labels.items()
                                                if k in placeholders(check.query)})
            samples = self._client.instant(query, at=now)
            results.append(evaluate(check, kind, phase, query, [s.value for s in samples]))
        return CheckReport(phase, target, now, tuple(results), tuple(skipped))

    def stop_requested(self, *, target: str | None = None) -> CheckReport:
        """The stop conditions alone, for the watch loop while a fault is applied."""
        return self.check("during", target=target, kinds=("stop_condition",))
