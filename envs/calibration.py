"""Calibration: the twin's timings measured on the real cluster by its game days, and applied to the twin.

A real experiment's snapshots (taken at every steady-state sample) show how long the cluster took:

- detection: a node failure until the node's Ready condition turned false (``node_monitor_grace_s``);
- rescheduling: a NotReady node until its pods had left it (``toleration_s``, the eviction delay);
- recovery: a killed or evicted pod until its workload was back at its desired ready count (the
  workload's ``startup_s``, after the controller's and scheduler's reaction and its probes; the median
  start stands for workloads never observed, and recoveries faster than the default reactions allow set
  ``controller_s`` and ``scheduling_s``);
- failover: a killed pod of a leader-electing workload until its entry point was healthy again (the
  workload's ``leader_failover_s``).

Each estimate is the running mean of its observations; applied, it replaces the default (Kubernetes') value
in the spec the simulator runs, so training and planning on the twin wait as long as the cluster does.
Observations are only as fine as the sampling (``[experiment] sample_every_s``): an event seen at the first
sample after it is counted at that sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from envs.cluster import ClusterState, SteadyStateSample
from envs.faults import Fault, FaultKind
from envs.sim.lifecycle import plan
from envs.sim.timings import Timings
from envs.spec import ClusterSpec, PodTemplate

Kind = Literal["detection", "rescheduling", "recovery", "failover"]
KINDS: tuple[Kind, ...] = ("detection", "rescheduling", "recovery", "failover")
CLUSTER_WIDE: Mapping[Kind, str] = {"detection": "node_monitor_grace_s", "rescheduling": "toleration_s"}
"""Cluster-wide estimates and the ``envs.sim.Timings`` field each sets."""


@dataclass(frozen=True)
class Observation:
    kind: Kind
    subject: str
    """The node (detection, rescheduling) or workload (recovery, failover) it was measured on."""
    seconds: float


@dataclass(frozen=True)
class Estimate:
    mean_s: float
    count: int

    def with_observation(self, seconds: float) -> Estimate:
        n = self.count + 1
        return Estimate(self.mean_s + (seconds - self.mean_s) / n, n)


@dataclass(frozen=True)
class Calibration:
    """Estimates by kind: cluster-wide ones under the subject "", per-workload ones under its key."""

    estimates: Mapping[tuple[Kind, str], Estimate] = field(default_factory=dict)

    def observe(self, observations: Sequence[Observation]) -> Calibration:
        out = dict(self.estimates)
        for o in observations:
            key = (o.kind, "" if o.kind in CLUSTER_WIDE else o.subject)
            out[key] = out.get(key, Estimate(0.0, 0)).with_observation(o.seconds)
        return Calibration(out)

    def timings(self) -> tuple[tuple[str, float], ...]:
        """The ``envs.sim.Timings`` fields it sets."""
        return tuple(sorted((CLUSTER_WIDE[k], round(e.mean_s, 3)) for (k, s), e in self.estimates.items()
                            if k in CLUSTER_WIDE and not s))


def ready_delay_s(t: PodTemplate, timings: Timings = Timings()) -> float:
    """What a replacement pod's Ready waits on besides its ``startup_s``: the controller, the scheduler, and
    its probes after the container runs (its cold start included)."""
    ready = plan(t).ready_s
    return timings.controller_s + timings.scheduling_s + (ready if ready is not None else 0.0)


def apply(calibration: Calibration, spec: ClusterSpec) -> ClusterSpec:
    """``spec`` with the measured timings: cluster-wide ones in ``calibrated``, per-workload ones in place.

    A replacement is Ready ``controller_s + scheduling_s + startup_s + probes`` after its pod's loss. A
    workload's recovery sets its ``startup_s``; the median start of the workloads observed stands for the
    ones never observed (the cluster's images and nodes, more than any one workload, set how fast pods
    start). When pods come back faster than the controller's and scheduler's default reactions allow, those
    reactions are set to what the fastest recovery left for them.
    """
    defaults = Timings()
    recoveries = {w.key: e.mean_s for w in spec.workloads if (e := calibration.estimates.get(("recovery", w.key)))}
    probes = {w.key: ready_delay_s(w.template) - defaults.controller_s - defaults.scheduling_s for w in spec.workloads}
    reaction = min((recoveries[k] - probes[k] for k in recoveries), default=None)
    timings = dict(calibration.timings())
    if reaction is not None and reaction < defaults.controller_s + defaults.scheduling_s:
        timings["controller_s"] = timings["scheduling_s"] = round(max(reaction, 0.0) / 2, 3)
    react = timings.get("controller_s", defaults.controller_s) + timings.get("scheduling_s", defaults.scheduling_s)
    starts = sorted(max(0.0, recoveries[k] - probes[k] - react) for k in recoveries)
    typical = starts[len(starts) // 2] if starts else None
    workloads = []
    for w in spec.workloads:
        failover = calibration.estimates.get(("failover", w.key))
        start = max(0.0, recoveries[w.key] - probes[w.key] - react) if w.key in recoveries else typical
        if start is not None:
            w = replace(w, template=replace(w.template, startup_s=round(start, 3)))
        if failover is not None and w.leader_failover_s > 0:
            w = replace(w, leader_failover_s=round(failover.mean_s, 3))
        workloads.append(w)
    return replace(spec, workloads=tuple(workloads), calibrated=tuple(sorted(timings.items())))


def observations(fault: Fault, started_s: float, timeline: Sequence[ClusterState],
                 samples: Sequence[SteadyStateSample] = (), spec: ClusterSpec | None = None) -> list[Observation]:
    """What one experiment's snapshots (taken at its samples, in time order) show about the cluster's timings."""
    out: list[Observation] = []
    after = [s for s in timeline if s.time_s > started_s]
    if fault.kind is FaultKind.NODE_FAILURE:
        down = next((s for s in after if fault.target in s.nodes and not s.nodes[fault.target].ready), None)
        if down is not None:
            out.append(Observation("detection", fault.target, down.time_s - started_s))
            node = fault.target.split("/", 1)[1]
            had = {k for k, w in down.workloads.items() if any(n == node for n, _ in w.pods_by_node)}
            gone = next((s for s in after if s.time_s > down.time_s and had and not any(
                n == node for k in had if k in s.workloads for n, _ in s.workloads[k].pods_by_node)), None)
            if gone is not None:
                out.append(Observation("rescheduling", fault.target, gone.time_s - down.time_s))
    elif fault.kind in (FaultKind.POD_KILL, FaultKind.POD_EVICTION):
        dipped = False
        for s in after:
            w = s.workloads.get(fault.target)
            if w is None:
                break
            if w.ready < w.desired:
                dipped = True
            elif dipped:
                out.append(Observation("recovery", fault.target, s.time_s - started_s))
                break
        if spec is not None and samples:
            out.extend(_failover(fault, started_s, samples, spec))
    return out


def _failover(fault: Fault, started_s: float, samples: Sequence[SteadyStateSample],
              spec: ClusterSpec) -> list[Observation]:
    try:
        w = spec.workload(fault.target)
    except KeyError:
        return []
    if w.leader_failover_s <= 0:
        return []
    entries = [s.key for s in spec.services if s.entrypoint and s.namespace == w.namespace
               and s.selector.matches(w.template.label_map)]
    for key in entries:
        threshold = spec.service(key).slo.availability
        broke = False
        for s in (x for x in samples if x.time_s > started_s):
            value = s.availability.get(key)
            if value is None:
                break
            if value < threshold:
                broke = True
            elif broke:
                return [Observation("failover", fault.target, s.time_s - started_s)]
    return []
