"""Running a list of faults through ``run_experiment`` and recording what both paths can be compared on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envs.cluster import ClusterBackend, SteadyStateSample, SteadyStateSource
from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault
from envs.spec import ClusterSpec
from envs.symptoms import symptoms_of

TIMING = Timing(fault_duration_s=60.0, sample_every_s=15.0, recovery_s=180.0)
"""Short windows (seconds of cluster time) that still see every outage of the scenarios."""


@dataclass(frozen=True)
class Observed:
    """What an experiment showed, in the terms both paths share (pod names are path-specific)."""

    fault: str
    outcome: str
    pods_hit: int
    findings: frozenset[tuple[str, str, tuple[str, ...]]]
    """(violation, target, affected workloads) of each finding."""


def run_faults(spec: ClusterSpec, backend: ClusterBackend, steady: SteadyStateSource, converged: Callable[[], bool],
               faults: Sequence[Fault], *, timing: Timing = TIMING,
               during: Callable[[SteadyStateSample], object] | None = None) -> list[Observed]:
    """Each fault in turn from a healthy steady state; ``during`` sees every sample of each fault window."""
    def watch(sample: SteadyStateSample) -> bool:
        if during is not None:
            during(sample)
        return False  # never stops the fault early: it only looks

    observed = []
    for i, fault in enumerate(faults):
        before = wait_for_steady_state(spec, backend, steady, timing)
        assert before is not None, f"the steady state did not heal before {fault.describe()}"
        result = run_experiment(
            spec=spec, backend=backend, steady=steady, fault=fault, injection_id=f"parity-{i}", timing=timing,
            before=before, converged=converged, stop=watch,
        )
        observed.append(Observed(
            fault=fault.describe(), outcome=result.injection.outcome, pods_hit=len(result.injection.affected_pods),
            findings=frozenset((f.violation, f.target, f.affected) for f in symptoms_of(result)),
        ))
    return observed
