"""What the twin cannot show of an answer key, weakness by weakness, with the twin's reason.

Keys are written from how Kubernetes and the application behave, so a key may hold a weakness the
twin cannot represent: a workload it skipped, a call it cannot see (made from a config file or code),
a steady-state signal it does not track (data loss of a Deployment). Such a weakness stays in the key
and in the recall; the benchmark reports it here instead of dropping it.
"""

from __future__ import annotations

from collections.abc import Iterable

from envs.cluster import SteadyStateSample
from envs.profile import backing_map
from envs.spec import ClusterSpec
from policies.ood.keys import AnswerKey, KeyWeakness


def twin_gaps(key: AnswerKey, spec: ClusterSpec, signals: SteadyStateSample) -> dict[str, str]:
    """Weakness id -> why the twin of ``spec`` cannot show it (weaknesses it can show are absent).

    ``signals`` is a steady-state sample of the twin: its keys say which signals the twin tracks.
    """
    gaps: dict[str, str] = {}
    workloads = {w.key for w in spec.workloads}
    entry_backed = _entry_backed(spec)
    for w in key.weaknesses:
        reason = _missing(w, workloads, spec.notes) or _no_signal(w, entry_backed, signals) or _no_path(w, spec)
        if reason:
            gaps[w.id] = reason
    return gaps


def _names(w: KeyWeakness) -> list[str]:
    named = [*w.root, *w.affected]
    for r in w.reveal:
        named.extend(r.workloads)
    return list(dict.fromkeys(named))


def _missing(w: KeyWeakness, workloads: set[str], notes: Iterable[str]) -> str:
    absent = [k for k in _names(w) if k not in workloads]
    if not absent:
        return ""
    name = absent[0].rsplit("/", 1)[1]
    said = next((n for n in notes if name in n), "no note mentions it")
    return f"the twin has no workload {absent[0]} ({said})"


def _entry_backed(spec: ClusterSpec) -> set[str]:
    backing = backing_map(spec)
    return {wk for s in spec.services if s.entrypoint for wk in backing.get(s.key, ())}


def _has_signal(violation: str, workload: str, entry_backed: set[str], s: SteadyStateSample) -> bool:
    if violation in ("availability", "latency"):
        return workload in entry_backed
    tracked = {"training_progress": s.training_progress_lost_s, "data_loss": s.data_lost,
               "undetected_drift": s.accuracy, "data_quality": s.bad_rows}[violation]
    return workload in tracked


def _no_signal(w: KeyWeakness, entry_backed: set[str], signals: SteadyStateSample) -> str:
    if any(_has_signal(v, a, entry_backed, signals) for v in w.violations for a in w.affected):
        return ""
    what = " or ".join(w.violations)
    return f"the twin tracks no {what} signal for {', '.join(w.affected)}"


def _no_path(w: KeyWeakness, spec: ClusterSpec) -> str:
    """A request-path weakness whose faults land behind the affected entry needs a call path to them."""
    if not set(w.violations) & {"availability", "latency"}:
        return ""
    faulted = {k for r in w.reveal for k in r.workloads}
    if any(r.node_label is not None for r in w.reveal):
        faulted.update(w.root)
    faulted -= set(w.affected)
    if not faulted or faulted & _reachable(spec, w.affected):
        return ""
    return f"the twin sees no call path from {', '.join(w.affected)} to {', '.join(sorted(faulted))}"


def _reachable(spec: ClusterSpec, start: Iterable[str]) -> set[str]:
    backing = backing_map(spec)
    calls = {wl.key: [c.service for c in wl.calls] for wl in spec.workloads}
    seen: set[str] = set()
    frontier = list(start)
    while frontier:
        current = frontier.pop()
        for service in calls.get(current, ()):
            for callee in backing.get(service, ()):
                if callee not in seen:
                    seen.add(callee)
                    frontier.append(callee)
    return seen
