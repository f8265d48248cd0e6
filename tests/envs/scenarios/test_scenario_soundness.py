"""Soundness and completeness of the built-ins' planted answer keys against the real simulator.

Soundness: every single action (fault kind x intensity x target) runs as an experiment on a fresh
simulated cluster, and every breach the verdict reports must match a planted weakness (so there is
no unplanted weakness, and decoys never break anything). Completeness: each weakness's canonical
trigger surfaces it, in the right state for state-dependent ones, at about its rate for flaky ones.
Generated clusters need no such test: their key is what the simulator breaks (test_answer_key.py).
"""

from __future__ import annotations

import random

import pytest
from scenario_sweep import NotRun, actions, canonical_faults, cluster, fault, run

from envs.scenarios import PlantedWeakness, Scenario, builtin
from envs.scenarios.planting import MAX_PROGRESS_LOSS_S

BUILTINS = [builtin("ml-platform", 7), builtin("storefront", 7)]


def _sweep(scenario: Scenario, share: float = 1.0, seed: int = 0) -> dict[str, int]:
    """Run every action (or a random share of them); fail on a breach no weakness explains."""
    rng = random.Random(f"sweep/{scenario.name}/{seed}")
    hits: dict[str, int] = {}
    false: list[str] = []
    for f in actions(scenario):
        if share < 1.0 and rng.random() > share:
            continue
        out = run(scenario, [f], seed=seed)
        for b, cid in zip(out.breaches, out.classes(scenario), strict=True):
            if cid is None:
                false.append(f"{f.describe()} broke {b.violation} of {b.subject} ({b.signal}: {b.worst})")
            else:
                hits[cid] = hits.get(cid, 0) + 1
    assert not false, f"{scenario.name}: unplanted weaknesses:\n" + "\n".join(false)
    return hits


@pytest.mark.parametrize("scenario", BUILTINS, ids=lambda s: s.name)
def test_builtin_every_single_action_is_explained(scenario: Scenario) -> None:
    hits = _sweep(scenario)
    single = [w for w in scenario.weaknesses if w.triggers[0].size == 1 and w.kind != "state_dependent"]
    assert {w.class_id for w in single} <= set(hits), "a single-action weakness no single action found"


@pytest.mark.parametrize("scenario", BUILTINS, ids=lambda s: s.name)
def test_builtin_random_held_pairs_are_explained(scenario: Scenario) -> None:
    """A fault held through the next one: whatever the pair breaks is a planted weakness too."""
    rng = random.Random(f"pairs/{scenario.name}")
    acts = list(actions(scenario))
    ran, false = 0, []
    while ran < 60:
        first, second = rng.choice(acts), rng.choice(acts)
        try:
            out = run(scenario, [first, second])
        except NotRun:
            continue  # the first fault does not apply there, or alone keeps the steady state broken
        ran += 1
        for b, cid in zip(out.breaches, out.classes(scenario), strict=True):
            if cid is None:
                false.append(f"{first.describe()} + {second.describe()} broke {b.violation} of {b.subject}")
    assert not false, "\n".join(false)


def _completeness_cases() -> list[tuple[Scenario, PlantedWeakness]]:
    out = []
    for s in BUILTINS:
        out += [(s, w) for w in s.weaknesses if w.kind not in ("flaky", "state_dependent")]
    return out


@pytest.mark.parametrize(("scenario", "weakness"), _completeness_cases(),
                         ids=lambda x: x.name if isinstance(x, Scenario) else f"{x.class_id}-{x.kind}")
def test_canonical_trigger_surfaces_the_weakness(scenario: Scenario, weakness: PlantedWeakness) -> None:
    faults = canonical_faults(weakness.triggers[0])
    out = run(scenario, faults)
    assert weakness.class_id in out.classes(scenario), (
        f"{[f.describe() for f in faults]} did not surface {weakness.description}: {out.breaches}")
    if len(faults) == 2:
        for f in faults:  # neither fault alone is enough: it takes the pair
            assert weakness.class_id not in run(scenario, [f]).classes(scenario)


@pytest.mark.parametrize("scenario", BUILTINS, ids=lambda s: s.name)
def test_every_surfacing_single_trigger_surfaces_its_weakness(scenario: Scenario) -> None:
    """Precision of the answer key: each action named by a surfacing trigger breaks the weakness."""
    missed = []
    for w in scenario.weaknesses:
        if w.kind in ("flaky", "state_dependent"):
            continue
        for t in w.surfacing_triggers:
            if t.size != 1:
                continue
            (r,) = t.requires
            for kind in r.kinds:
                f = fault(kind, r.min_intensity, r.target)
                if w.class_id not in run(scenario, [f]).classes(scenario):
                    missed.append(f"{w.class_id} ({w.description}): {f.describe()}")
    assert not missed, "\n".join(missed)


def _state_cases() -> list[tuple[Scenario, PlantedWeakness]]:
    out = []
    for s in BUILTINS:
        out += [(s, w) for w in s.weaknesses if w.kind == "state_dependent"]
    return out


@pytest.mark.parametrize(("scenario", "weakness"), _state_cases(),
                         ids=lambda x: x.name if isinstance(x, Scenario) else x.class_id)
def test_state_dependent_breaks_only_late_in_the_checkpoint_interval(scenario: Scenario,
                                                                    weakness: PlantedWeakness) -> None:
    job = scenario.spec.workload(weakness.affected)
    assert job.training is not None and job.training.checkpoint_interval_s is not None
    interval = job.training.checkpoint_interval_s
    for late, want in ((MAX_PROGRESS_LOSS_S + 120.0, True), (30.0, False)):
        sim = cluster(scenario, seed=1, warmup_s=interval + 60.0)  # at least one checkpoint exists
        since = sim.snapshot().workloads[job.key].seconds_since_checkpoint  # type: ignore[attr-defined]
        assert since is not None
        sim.wait((late - since) % interval)  # type: ignore[attr-defined]
        out = run(scenario, canonical_faults(weakness.triggers[0]), sim=sim)
        assert (weakness.class_id in out.classes(scenario)) is want, (late, out.breaches)


def test_flaky_breaks_at_about_its_rate() -> None:
    scenario = BUILTINS[0]
    (weakness,) = [w for w in scenario.weaknesses if w.kind == "flaky"]
    tries = 30
    hits = sum(weakness.class_id in run(scenario, canonical_faults(weakness.triggers[0]), seed=s).classes(scenario)
               for s in range(tries))
    assert abs(hits / tries - weakness.p) < 0.2, (hits, weakness.p)
