"""The generator: deterministic per seed, every family healthy at rest, physics drawn per cluster, no
planting signposts, nothing hidden in the spec; and the hand-made built-ins."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from envs.experiment import Timing, wait_for_steady_state
from envs.faults import CATALOG
from envs.profile import STATIC_FEATURES, profile
from envs.scenarios import (
    BUILTIN_NAMES,
    FAMILY_NAMES,
    HELD_OUT,
    HELD_OUT_SETS,
    TRAINING,
    WEAKNESS_KINDS,
    GeneratorParams,
    Scenario,
    UnknownScenarioError,
    builtin,
    generate_cluster,
)
from envs.scenarios.names import pool_names
from envs.sim import SimulatedCluster

HIDDEN_WORDS = ("weak", "decoy", "flaky", "planted", "shallow", "intensity", "two_fault", "two-fault",
                "state_dependent", "control", "class", "oracle", "trigger", "fragile", "bug")
CLUSTERS = [generate_cluster(seed, params) for params in (TRAINING, HELD_OUT) for seed in range(12)]


def test_same_seed_same_cluster_and_different_seeds_differ() -> None:
    assert generate_cluster(11, TRAINING) == generate_cluster(11, TRAINING)
    assert generate_cluster(11, HELD_OUT) == generate_cluster(11, HELD_OUT)
    assert generate_cluster(11, TRAINING).spec != generate_cluster(17, TRAINING).spec
    assert builtin("ml-platform", 7) == builtin("ml-platform", 7)


def test_every_family_is_built_in_turn() -> None:
    assert [generate_cluster(s).family for s in range(len(FAMILY_NAMES))] == list(FAMILY_NAMES)
    only = TRAINING.only("rag")
    assert {generate_cluster(s, only).family for s in range(4)} == {"rag"}
    assert "rag" not in {generate_cluster(s, TRAINING.without("rag")).family for s in range(10)}
    assert {f"held-out-{f}" for f in FAMILY_NAMES} <= set(HELD_OUT_SETS)


@pytest.mark.parametrize("scenario", CLUSTERS, ids=lambda s: f"{s.name}-{s.spec.nodes[0].name[:3]}")
def test_every_generated_cluster_holds_its_steady_state_at_rest(scenario: Scenario) -> None:
    """A cluster broken before any fault teaches nothing: the timeouts cover each callee's steady p99,
    every pod fits somewhere, and the SLOs hold."""
    sim = SimulatedCluster(scenario.spec, seed=1, timings=scenario.timings)
    sim.wait(600.0)
    assert wait_for_steady_state(scenario.spec, sim, sim, Timing(max_settle_s=60.0)) is not None
    assert sim.converged(), [w.spec.key for w in sim.wls if not w.done and
                             sum(p.ready for p in w.pods) < w.desired]


def test_physics_are_drawn_per_cluster() -> None:
    timings = {c.timings for c in CLUSTERS}
    assert len(timings) > len(CLUSTERS) * 0.8
    graces = [c.timings.node_monitor_grace_s for c in CLUSTERS]
    assert min(graces) >= 20 and max(graces) <= 60 and max(graces) - min(graces) > 10
    loads = [s.load_rps for c in CLUSTERS for s in c.spec.services if s.entrypoint]
    assert max(loads) / min(loads) > 20


def test_habits_are_the_same_on_and_off_the_request_path() -> None:
    """No planting template: single replicas, missing PDBs and calls without fallback appear both where
    requests flow and where they do not, at rates that differ by less than a factor of two."""
    on, off = Counter(), Counter()
    col = {name: i for i, name in enumerate(STATIC_FEATURES)}
    for c in CLUSTERS:
        prof = profile(c.spec)
        for w in c.spec.workloads:
            if w.training is not None or w.kind == "Job":
                continue
            row = prof.static[prof.index[w.key]]
            side = on if w.key in prof.called else off
            side["n"] += 1
            side["single"] += row[col["single_replica"]] > 0
            side["no_pdb"] += row[col["has_pdb"]] == 0
    for habit in ("single", "no_pdb"):
        a, b = on[habit] / on["n"], off[habit] / off["n"]
        assert 0.5 < a / b < 2.0, (habit, a, b)


@pytest.mark.parametrize("scenario", [*CLUSTERS[:6], *(builtin(n, 7) for n in BUILTIN_NAMES[:2])],
                         ids=lambda s: s.name)
def test_the_spec_never_reveals_the_answer_key(scenario: Scenario) -> None:
    text = repr(scenario.spec).lower()
    for w in scenario.weaknesses:
        assert not re.search(rf"\b{re.escape(w.class_id)}\b", text), w.class_id
        assert w.description.lower() not in text
    for word in HIDDEN_WORDS:
        assert word not in text, word


def test_builtin_answer_keys_name_real_targets() -> None:
    for name in BUILTIN_NAMES[:2]:
        spec = builtin(name, 7).spec
        workloads, nodes = {w.key for w in spec.workloads}, {n.key for n in spec.nodes}
        for w in builtin(name, 7).weaknesses:
            assert w.affected in workloads
            for t in w.triggers:
                for r in t.requires:
                    want = workloads if all(CATALOG[k].target == "workload" for k in r.kinds) else nodes
                    assert r.target in want, (w.class_id, r)


def test_training_and_held_out_differ_in_names_and_size() -> None:
    assert TRAINING != HELD_OUT
    assert not pool_names("training") & pool_names("held_out")
    train, held = CLUSTERS[:12], CLUSTERS[12:]
    train_names = {w.name for s in train for w in s.spec.workloads}
    held_names = {w.name for s in held for w in s.spec.workloads}
    assert not train_names & held_names
    assert sum(len(s.spec.workloads) for s in held) > sum(len(s.spec.workloads) for s in train)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(UnknownScenarioError, match="ml-platform"):
        builtin("petstore", 0)
    with pytest.raises(ValueError, match="unknown petshop"):
        GeneratorParams(families=("petshop",))
    with pytest.raises(ValueError, match="at least one family"):
        GeneratorParams(families=())
    with pytest.raises(ValueError, match="scale"):
        GeneratorParams(scale=0.0)


def test_ml_platform_has_weaknesses_in_all_five_families() -> None:
    s = builtin("ml-platform", 7)
    families = {CATALOG[k].family for w in s.weaknesses for r in w.triggers[0].requires for k in r.kinds}
    assert families == {"pod", "node", "network", "gpu", "data"}
    assert {w.kind for w in s.weaknesses} == set(WEAKNESS_KINDS)
    assert len(s.decoys) >= 3
