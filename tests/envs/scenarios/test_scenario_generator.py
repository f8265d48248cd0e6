"""The generator: deterministic per seed, every kind plantable, nothing hidden leaks into the spec."""

from __future__ import annotations

import dataclasses
import re

import pytest

from envs.faults import CATALOG
from envs.scenarios import (
    BUILTIN_NAMES,
    HELD_OUT,
    TRAINING,
    WEAKNESS_KINDS,
    GeneratorParams,
    Scenario,
    UnknownScenarioError,
    WeaknessKind,
    builtin,
    generate,
    held_out_scenarios,
    training_scenarios,
)
from envs.scenarios.names import pool_names
from envs.spec import ClusterSpec

NONE_OF_EACH: dict[str, int] = dict.fromkeys(WEAKNESS_KINDS, 0)
HIDDEN_WORDS = ("weak", "decoy", "flaky", "planted", "shallow", "intensity", "two_fault", "two-fault",
                "state_dependent", "control", "class", "oracle", "trigger", "fragile", "bug")


def _all_scenarios() -> list[Scenario]:
    return [*training_scenarios(range(3)), *held_out_scenarios(range(5)), *(builtin(n, 7) for n in BUILTIN_NAMES)]


def test_same_seed_same_scenario_and_different_seeds_differ() -> None:
    assert generate(11, TRAINING) == generate(11, TRAINING)
    assert generate(11, HELD_OUT) == generate(11, HELD_OUT)
    assert generate(11, TRAINING).spec != generate(12, TRAINING).spec
    assert builtin("ml-platform", 7) == builtin("ml-platform", 7)


@pytest.mark.parametrize("kind", WEAKNESS_KINDS)
def test_every_kind_can_be_planted_alone(kind: WeaknessKind) -> None:
    counts: dict[str, int] = {**NONE_OF_EACH, kind: 3}
    params = dataclasses.replace(TRAINING, decoys=0, **counts)  # type: ignore[arg-type]
    for seed in range(4):
        s = generate(seed, params)
        kinds = [w.kind for w in s.weaknesses]
        extra = len(_entries(s.spec)) if kind == "shallow" else 0  # every entry point is a shallow one
        assert kinds.count(kind) == 3 + extra
        assert set(kinds) <= {kind, "shallow"}, kinds


def test_kind_counts_follow_the_parameters() -> None:
    s = generate(3, HELD_OUT)
    kinds = [w.kind for w in s.weaknesses]
    for kind in ("intensity", "two_fault", "state_dependent", "flaky", "ml"):
        assert kinds.count(kind) == getattr(HELD_OUT, kind)
    assert kinds.count("shallow") == HELD_OUT.shallow + len(_entries(s.spec))


def _entries(spec: ClusterSpec) -> list[str]:
    return [s.key for s in spec.services if s.entrypoint]


@pytest.mark.parametrize("scenario", _all_scenarios(), ids=lambda s: f"{s.name}-{s.seed}")
def test_the_spec_never_reveals_the_answer_key(scenario: Scenario) -> None:
    text = repr(scenario.spec).lower()
    for w in scenario.weaknesses:
        assert not re.search(rf"\b{re.escape(w.class_id)}\b", text), w.class_id
        assert w.description.lower() not in text
    for word in HIDDEN_WORDS:
        assert word not in text, word
    ids = [w.class_id for w in scenario.weaknesses]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("scenario", _all_scenarios(), ids=lambda s: f"{s.name}-{s.seed}")
def test_answer_key_names_real_targets(scenario: Scenario) -> None:
    spec = scenario.spec
    workloads = {w.key for w in spec.workloads}
    nodes = {n.key for n in spec.nodes}
    for w in scenario.weaknesses:
        assert w.affected in workloads
        assert 0 < w.p <= 1
        for t in w.triggers:
            for r in t.requires:
                want = workloads if all(CATALOG[k].target == "workload" for k in r.kinds) else nodes
                assert r.target in want, (w.class_id, r)
                assert 0 <= r.min_intensity <= 2
        assert all(len(r.kinds) == 1 for r in w.triggers[0].requires), "the canonical trigger is concrete"
    for d in scenario.decoys:  # a decoy alone never scores; as the second slow dependency of a pair it may
        assert d.target in workloads
        assert all(d.target != r.target for w in scenario.weaknesses for t in w.triggers if t.size == 1
                   for r in t.requires)
        assert all(d.target != r.target for w in scenario.weaknesses for t in w.surfacing_triggers for r in t.requires)


def test_training_and_held_out_differ_in_parameters_and_names() -> None:
    assert TRAINING != HELD_OUT
    assert not pool_names("training") & pool_names("held_out")
    train = training_scenarios(range(4))
    held = [s for s in held_out_scenarios(range(4))]
    train_names = {w.name for s in train for w in s.spec.workloads}
    held_names = {w.name for s in held for w in s.spec.workloads}
    assert not train_names & held_names
    assert min(len(s.spec.workloads) for s in held) > max(len(s.spec.workloads) for s in train) * 0.9
    assert sum(len(s.weaknesses) for s in held) > sum(len(s.weaknesses) for s in train)


def test_held_out_has_no_fault_controls_with_zero_weaknesses() -> None:
    held = held_out_scenarios(range(100, 110))
    controls = [s for s in held if s.control]
    assert len(controls) == 2
    for s in controls:
        assert s.weaknesses == ()
        assert s.decoys, "controls keep decoys, so reporting one is a false finding"
        assert not _entries(s.spec)
    assert all(s.weaknesses for s in held if not s.control)


def test_a_big_cluster_generates() -> None:
    big = GeneratorParams(name_pool="held_out", entry_points=4, services=150, nodes=90, gpu_nodes=10)
    s = generate(1, big)
    assert len(s.spec.workloads) > 150
    assert len({w.key for w in s.spec.workloads}) == len(s.spec.workloads)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(UnknownScenarioError, match="ml-platform"):
        builtin("petstore", 0)
    with pytest.raises(ValueError, match="zones"):
        GeneratorParams(zones=0)
    with pytest.raises(ValueError, match="decoys"):
        GeneratorParams(decoys=-1)


def test_ml_platform_has_weaknesses_in_all_five_families() -> None:
    s = builtin("ml-platform", 7)
    families = {CATALOG[k].family for w in s.weaknesses for r in w.triggers[0].requires for k in r.kinds}
    assert families == {"pod", "node", "network", "gpu", "data"}
    assert {w.kind for w in s.weaknesses} == set(WEAKNESS_KINDS)
    assert len(s.decoys) >= 3
