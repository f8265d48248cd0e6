"""Running actions against a scenario on a fresh simulated cluster, for the soundness tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.faults import CATALOG, FAULT_KINDS, Fault
from envs.scenarios import Scenario, score_finding
from envs.scenarios.records import Trigger
from envs.verdict import Breach

TIMING = Timing()
WARMUP_S = 30.0


@dataclass(frozen=True)
class Outcome:
    faults: tuple[Fault, ...]
    breaches: tuple[Breach, ...]

    def classes(self, scenario: Scenario) -> list[str | None]:
        return [score_finding(scenario, self.faults, b.violation, [b.subject]) for b in self.breaches]


def fault(kind: object, intensity: int, target: str) -> Fault:
    t = CATALOG[kind]  # type: ignore[index]
    return Fault(t.kind, intensity, target, TIMING.duration_of(t.kind, t.magnitude(intensity)))


def actions(scenario: Scenario) -> Iterator[Fault]:
    """Every single action: each fault kind at each intensity on each target it applies to."""
    spec = scenario.spec
    for kind in FAULT_KINDS:
        targets = [w.key for w in spec.workloads] if CATALOG[kind].target == "workload" else [n.key for n in spec.nodes]
        for target in targets:
            for intensity in range(3):
                yield fault(kind, intensity, target)


def cluster(scenario: Scenario, seed: int, warmup_s: float = WARMUP_S) -> object:
    from envs.sim import SimulatedCluster

    sim = SimulatedCluster(scenario.spec, seed=seed)
    sim.wait(warmup_s)
    return sim


def held_long(f: Fault) -> Fault:
    """A fault held into the next experiment outlives both, as the env makes it (envs.chaos_env)."""
    extra = TIMING.recovery_s + 2 * max(TIMING.fault_duration_s, 600.0)
    return Fault(f.kind, f.intensity, f.target, f.duration_s + extra)


class NotRun(Exception):
    """The experiment could not start: a held fault did not apply, or the steady state never held."""


def run(scenario: Scenario, faults: Sequence[Fault], *, seed: int = 0, sim: object | None = None) -> Outcome:
    """Run ``faults`` as experiments in a row, each held into the next; the breaches of the last."""
    sim = sim if sim is not None else cluster(scenario, seed)
    spec = scenario.spec
    held: list = []
    result = None
    for i, f in enumerate(faults):
        last = i == len(faults) - 1
        f = f if last else held_long(f)
        before = wait_for_steady_state(spec, sim, sim, TIMING)  # type: ignore[arg-type]
        if before is None:
            raise NotRun(f"{scenario.name}: steady state never held before {f.describe()}")
        result = run_experiment(spec=spec, backend=sim, steady=sim, fault=f, injection_id=f"t{i}",  # type: ignore[arg-type]
                                timing=TIMING, held=held, hold=not last, before=before)
        held = [result.injection] if result.held else []
        if not last and result.injection.outcome != "applied":
            raise NotRun(f"held fault {f.describe()} was {result.injection.outcome}")
    assert result is not None
    return Outcome(tuple(faults), result.breaches)  # as planned: score by kind, intensity, target


def canonical_faults(trigger: Trigger) -> list[Fault]:
    """The concrete actions of a trigger: each requirement's first kind at its minimum intensity."""
    out = []
    for r in trigger.requires:
        kind = sorted(r.kinds, key=lambda k: k.value)[0]
        out.append(fault(kind, max(r.min_intensity, 0), r.target))
    return out
