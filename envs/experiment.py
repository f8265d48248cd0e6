"""One chaos experiment: check the steady state, inject, watch, revert, watch the recovery, judge.

Shared by the Gymnasium env and the daemon, so training and production decide findings the same way.
A fault may be *held*: it stays active through the next experiment, so two-fault weaknesses are
reachable; the held fault is reverted when that next experiment ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envs.cluster import ClusterBackend, Injection, SteadyStateSample, SteadyStateSource
from envs.faults import Fault, FaultKind
from envs.footprint import Touch, footprint
from envs.spec import ClusterSpec
from envs.verdict import Breach, baseline_holds, judge


@dataclass(frozen=True)
class Timing:
    """Seconds of cluster time; see [experiment] in the configuration."""

    fault_duration_s: float = 120.0
    sample_every_s: float = 15.0
    recovery_s: float = 300.0
    settle_s: float = 60.0
    max_settle_s: float = 900.0
    """Longest wait for a broken steady state to heal before an experiment is skipped."""

    def duration_of(self, kind: FaultKind, magnitude: float) -> float:
        """A node failure's magnitude is its down time; every other fault lasts the configured time."""
        return magnitude if kind is FaultKind.NODE_FAILURE else self.fault_duration_s


@dataclass(frozen=True)
class ExperimentResult:
    injection: Injection
    concurrent: tuple[Injection, ...]
    """Faults active at the same time (held from the previous experiment)."""
    breaches: tuple[Breach, ...]
    before: SteadyStateSample
    during: tuple[SteadyStateSample, ...]
    after: tuple[SteadyStateSample, ...]
    started_s: float
    reverted_s: float | None
    held: bool
    footprint: tuple[Touch, ...] = ()
    """What the active faults reached, workload by workload, read just before the injection."""

    @property
    def budget_burned_s(self) -> float:
        return sum(b.breach_s for b in self.breaches)


Converged = Callable[[], bool]


def wait_for_steady_state(spec: ClusterSpec, backend: ClusterBackend, steady: SteadyStateSource,
                          timing: Timing) -> SteadyStateSample | None:
    """Sample until the steady state holds; None when it does not heal within ``max_settle_s``."""
    waited = 0.0
    sample = steady.sample()
    while not baseline_holds(spec, sample):
        if waited >= timing.max_settle_s:
            return None
        backend.wait(timing.sample_every_s)
        waited += timing.sample_every_s
        sample = steady.sample()
    return sample


def run_experiment(*, spec: ClusterSpec, backend: ClusterBackend, steady: SteadyStateSource, fault: Fault,
                   injection_id: str, timing: Timing, held: Sequence[Injection] = (), hold: bool = False,
                   before: SteadyStateSample, converged: Converged | None = None,
                   stop: Callable[[SteadyStateSample], bool] | None = None) -> ExperimentResult:
    """Run one experiment from a healthy ``before`` sample; reverts everything it does not hold.

    The fault is watched for its experiment window (``Timing.duration_of``); its own ``duration_s`` is
    when the cluster side expires it on its own (longer for a held fault), as Chaos Mesh's ``duration``.

    ``converged`` (all workloads back at their desired ready count) ends the recovery watch early.
    ``stop`` is a stop condition checked on every sample: when true the fault is reverted at once.
    """
    started = backend.now()
    touched = footprint((*(h.fault for h in held), fault), backend.snapshot())
    window = min(fault.duration_s, timing.duration_of(fault.kind, fault.magnitude))
    injection = backend.inject(fault, injection_id=injection_id)
    during: list[SteadyStateSample] = []
    after: list[SteadyStateSample] = []
    reverted: float | None = None
    applied = injection.outcome == "applied"
    try:
        if applied:
            elapsed = 0.0
            while elapsed < window:
                step = min(timing.sample_every_s, window - elapsed)
                backend.wait(step)
                elapsed += step
                sample = steady.sample()
                during.append(sample)
                if stop is not None and stop(sample):
                    break
    finally:
        if not (hold and applied):
            backend.revert(injection)
        for h in held:
            backend.revert(h)
        reverted = backend.now()
    if applied or held:
        _watch_recovery(backend, steady, timing, after, converged, spec)
    breaches = judge(spec, before, during, after, started_s=started, reverted_s=reverted,
                     sample_every_s=timing.sample_every_s) if applied else ()
    return ExperimentResult(
        injection=injection, concurrent=tuple(held), breaches=breaches, before=before,
        during=tuple(during), after=tuple(after), started_s=started, reverted_s=reverted,
        held=hold and applied, footprint=touched,
    )


def _watch_recovery(backend: ClusterBackend, steady: SteadyStateSource, timing: Timing,
                    after: list[SteadyStateSample], converged: Converged | None, spec: ClusterSpec) -> None:
    elapsed = 0.0
    healthy_in_a_row = 0
    while elapsed < timing.recovery_s:
        step = min(timing.sample_every_s, timing.recovery_s - elapsed)
        backend.wait(step)
        elapsed += step
        sample = steady.sample()
        after.append(sample)
        healthy_in_a_row = healthy_in_a_row + 1 if baseline_holds(spec, sample) else 0
        if healthy_in_a_row >= 2 and converged is not None and converged():
            return
