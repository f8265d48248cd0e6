"""Verifying a fix in the twin: re-run the experiments that reproduced a weakness, before and after the patch.

Each reproducing experiment (the faults of one finding, at the mildest intensity that reproduced it)
runs on fresh simulations of the cluster's spec and of the patched spec, with the same seeds, so the
only difference between the two runs of a pair is the fix. A run still *reproduces the weakness* when
it breaches and the breach is diagnosed as the same weakness (the same cause in the same place); a
breach the patched cluster shows for another cause is another weakness, reported beside it. The fix
is "verified in the twin" only when the weakness reproduced in at least one run before the patch and
in none after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds
from envs.experiment import ExperimentResult, Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault
from envs.footprint import footprint
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec
from envs.symptoms import symptoms_of
from envs.weaknesses.explain import diagnose
from envs.weaknesses.patching import patched_spec
from envs.weaknesses.records import Case, weakness_id
from envs.weaknesses.remedy import Remediation

WARMUP_S = (0.0, 3600.0)
"""Simulated time before each run, drawn from its seed, so runs see different states (checkpoint phases,
which pod leads): the same range the env's game days start from."""
HOLD_S = 3600.0
"""How long a held fault of a multi-fault experiment may stay active (it is reverted explicitly)."""


@dataclass(frozen=True)
class Reproduction:
    """One reproducing experiment to re-run: the faults active together (held first) and its finding."""

    finding: str
    faults: tuple[Fault, ...]


@dataclass(frozen=True)
class Verification:
    verified: bool
    runs: int
    """Runs per side (experiments x seeds)."""
    reproduced_before: int
    reproduced_after: int
    """Runs of the patched twin in which the weakness still reproduced."""
    other_after: tuple[str, ...]
    """Weakness ids of other causes the patched twin's runs breached for."""
    detail: str


INTERRUPTED = "interrupted before it finished"


def verify(spec: ClusterSpec, weakness: str, remediation: Remediation, reproductions: Sequence[Reproduction], *,
           seeds: Sequence[int], timing: Timing, bounds: DesignBasisBounds = DEFAULT_BOUNDS,
           should_stop: Callable[[], bool] | None = None) -> Verification:
    """Re-run ``reproductions`` on ``spec`` and on ``spec`` patched by ``remediation``, with the same seeds.

    ``should_stop`` is asked before each pair of runs; when it says stop, the result is not verified and its
    detail starts with ``INTERRUPTED``, so the caller tries again later.
    """
    if not remediation.patches:
        return Verification(False, 0, 0, 0, (), "no manifest patch to try: " + remediation.summary)
    if not reproductions:
        return Verification(False, 0, 0, 0, (), "no reproducing experiment to re-run")
    fixed = patched_spec(spec, remediation.patches)
    before = after = runs = 0
    others: set[str] = set()
    for rep in reproductions:
        for seed in seeds:
            if should_stop is not None and should_stop():
                return Verification(False, runs, before, after, tuple(sorted(others)), INTERRUPTED)
            runs += 1
            if weakness in reproduce(spec, rep, seed=seed, timing=timing, bounds=bounds):
                before += 1
            seen = reproduce(fixed, rep, seed=seed, timing=timing, bounds=bounds)
            after += weakness in seen
            others |= seen - {weakness}
    verified = before > 0 and after == 0
    if before == 0:
        detail = f"the weakness did not reproduce in the twin before the fix ({runs} runs)"
    elif after:
        detail = f"still reproduces after the fix in {after} of {runs} runs (before: {before})"
    else:
        detail = f"reproduced in {before} of {runs} runs before the fix, in none after"
    if others:
        detail += "; the patched twin still breaks for " + ", ".join(sorted(others))
    return Verification(verified, runs, before, after, tuple(sorted(others)), detail)


def reproduce(spec: ClusterSpec, rep: Reproduction, *, seed: int, timing: Timing,
              bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> set[str]:
    """Run one experiment on a fresh simulation of ``spec``; the ids of the weaknesses its breaches show."""
    result = run(spec, rep.faults, seed=seed, timing=timing)
    if result is None:
        return set()
    out = set()
    for symptom in symptoms_of(result):
        case = Case(rep.finding, symptom.violation, symptom.faults, symptom.affected, symptom.worst,
                    result.footprint, symptom.severity)
        d = diagnose(spec, case, bounds)
        if d.cause is not None:
            out.add(weakness_id(d.component))
    return out


def run(spec: ClusterSpec, faults: Sequence[Fault], *, seed: int, timing: Timing) -> ExperimentResult | None:
    """The faults on a fresh simulation after a warm-up drawn from ``seed``; held faults first. None when the
    steady state does not hold before the experiment (nothing to judge)."""
    sim = SimulatedCluster(spec, seed=seed)
    rng = np.random.default_rng(seed)
    sim.wait(float(rng.uniform(*WARMUP_S)))
    before = wait_for_steady_state(spec, sim, sim, timing)
    if before is None:
        return None
    state = sim.snapshot()
    held = []
    for i, fault in enumerate(faults[:-1]):
        inj = sim.inject(replace(fault, duration_s=HOLD_S), injection_id=f"verify-held-{i}")
        if inj.outcome != "applied":
            return None
        held.append(inj)
    main = replace(faults[-1], duration_s=timing.duration_of(faults[-1].kind, faults[-1].magnitude))
    result = run_experiment(spec=spec, backend=sim, steady=sim, fault=main, injection_id="verify", timing=timing,
                            held=tuple(held), before=before, converged=sim.converged)
    # held faults are judged by what they reached when injected, before they moved any pod
    return replace(result, footprint=footprint(faults, state)) if held else result
