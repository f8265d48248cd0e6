"""Ground truth by effect: the answer key is what the simulator breaks under design-basis faults, grouped
by cause; beyond-basis faults never make a weakness; a zone outage is swept as a pair; keys are cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.design_basis import Basis, classify
from envs.faults import Fault, FaultKind
from envs.scenarios import Scenario, generate_cluster, with_key
from envs.scenarios.effects import design_basis_actions, sweep
from envs.scenarios.key import answer_key
from envs.scenarios.scoring import score_within_basis
from envs.spec import (
    HOSTNAME_LABEL,
    ZONE_LABEL,
    AntiAffinity,
    Call,
    ClusterSpec,
    LabelRequirement,
    NodeSpec,
    Slo,
)
from policies import keys
from tests.envs.sim.sim_specs import NS, deployment, selector, service

FRONT, BACK = f"{NS}/Deployment/front", f"{NS}/Deployment/back"


def _nodes(zones: dict[str, str]) -> tuple[NodeSpec, ...]:
    return tuple(NodeSpec(n, labels=((HOSTNAME_LABEL, n), (ZONE_LABEL, z))) for n, z in zones.items())


def single_replica_behind_front() -> ClusterSpec:
    front = deployment("front", 3, calls=(Call(f"{NS}/Service/back", timeout_ms=500, retries=0),))
    return ClusterSpec("spof", _nodes({"n1": "a", "n2": "b", "n3": "c"}), (front, deployment("back", 1)),
                       (service("front", entry=True, load=50.0), service("back")))


def back_in_one_zone() -> ClusterSpec:
    """``back`` has two replicas kept apart on the two nodes of zone a: one node failing is absorbed by
    retries (and the latency budget covers the timeouts they wait out), the zone failing (both nodes)
    takes every replica."""
    in_b = ((LabelRequirement(HOSTNAME_LABEL, "In", ("b1", "b2")),),)
    front = deployment("front", 2, calls=(Call(f"{NS}/Service/back", timeout_ms=500, retries=7),), node_affinity=in_b,
                       anti_affinity=(AntiAffinity(selector("front"), HOSTNAME_LABEL),))
    in_a = ((LabelRequirement(HOSTNAME_LABEL, "In", ("a1", "a2")),),)
    back = deployment("back", 2, node_affinity=in_a, anti_affinity=(AntiAffinity(selector("back"), HOSTNAME_LABEL),))
    nodes = _nodes({"a1": "a", "a2": "a", "b1": "b", "b2": "b"})
    patient = Slo(latency_p99_ms=20_000.0)
    return ClusterSpec("zone", nodes, (front, back), (service("front", entry=True, load=50.0, slo=patient),
                                                      service("back")))


def test_a_single_replica_on_the_path_is_found_by_its_effect_and_named_once() -> None:
    spec = single_replica_behind_front()
    weaknesses = answer_key(sweep(spec, seed=1))
    spof = [w for w in weaknesses if w.culprit == BACK and w.kind == "single_replica_on_path"]
    assert len(spof) == 1, [w.description for w in weaknesses]
    [w] = spof
    assert w.kind == "single_replica_on_path" and w.affected == FRONT and "availability" in w.violations
    kinds = {(r.target, k) for t in w.triggers for r in t.requires for k in r.kinds}
    assert (BACK, FaultKind.POD_KILL) in kinds and any(t.startswith("Node/") for t, _ in kinds), \
        "the pod kill and the node holding the pod are one weakness"
    assert w.rates[0] == 1.0 and len(w.rates) == len(w.triggers) == len(w.blast_s)


def test_no_trigger_is_beyond_the_design_basis() -> None:
    spec = single_replica_behind_front()
    actions = design_basis_actions(spec)
    assert (Fault(FaultKind.POD_KILL, 2, FRONT),) not in actions, "killing every replica is beyond the basis"
    assert (Fault(FaultKind.NETWORK_LATENCY, 2, BACK),) not in actions
    for w in answer_key(sweep(spec, seed=2)):
        for t in w.triggers:
            faults = [Fault(next(iter(r.kinds)), r.min_intensity, r.target) for r in t.requires]
            assert classify(faults, spec).basis is Basis.WITHIN


def test_zone_outages_are_swept_and_a_single_node_of_the_zone_is_absorbed() -> None:
    """Two nodes of one zone are one failure to the design basis, so the pair is swept, held first as the
    env holds it. (A held node failure comes back after its down time, before the next fault lands: in
    this env a zone outage reaches only what the two failures reach one after the other.)"""
    spec = back_in_one_zone()
    pairs = [a for a in design_basis_actions(spec) if len(a) == 2]
    assert {tuple(f.target for f in a) for a in pairs} == {("Node/a1", "Node/a2"), ("Node/b1", "Node/b2")}
    swept = sweep(spec, seed=3)
    assert all(swept.tries[a] > 0 for a in pairs)
    weaknesses = answer_key(swept)
    assert not [w for w in weaknesses if w.culprit == BACK and any(
        t.size == 1 and t.requires[0].target.startswith("Node/a") for t in w.triggers)], \
        "one node of zone a alone is absorbed by the retries"


def test_scoring_counts_design_basis_findings_only() -> None:
    scenario = with_key(Scenario("spof", 1, single_replica_behind_front(), (), (), False))
    kill_back = [Fault(FaultKind.POD_KILL, 0, BACK)]
    basis, cid = score_within_basis(scenario, kill_back, "availability", [FRONT])
    assert basis is Basis.WITHIN and cid is not None
    beyond = [Fault(FaultKind.POD_KILL, 2, FRONT)]
    assert score_within_basis(scenario, beyond, "availability", [FRONT]) == (Basis.BEYOND, None)


def test_keys_round_trip_through_the_json_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = generate_cluster(3)
    [first] = keys.keyed([cluster], cache=tmp_path, workers=1)
    assert first.weaknesses and all(w.class_id for w in first.weaknesses)
    assert [keys.weakness_from_json(keys.weakness_to_json(w)) for w in first.weaknesses] == [
        w.__class__(**{**w.__dict__, "class_id": ""}) for w in first.weaknesses]

    def no_sweep(_job: object) -> object:
        raise AssertionError("a cached key is not swept again")

    monkeypatch.setattr(keys, "_compute", no_sweep)
    [again] = keys.keyed([cluster], cache=tmp_path, workers=1)
    assert again == first
    other = generate_cluster(4)
    with pytest.raises(AssertionError, match="not swept again"):
        keys.keyed([other], cache=tmp_path, workers=1)


def test_a_key_swept_by_another_simulator_is_swept_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = generate_cluster(3)
    [first] = keys.keyed([cluster], cache=tmp_path, workers=1)
    # The same spec, but the simulator's source changed since (a new retry or eviction semantics).
    monkeypatch.setattr(keys, "simulator_digest", lambda: "another simulator")
    swept: list[object] = []
    real = keys._compute

    def counted(job: tuple[int, Scenario]) -> tuple[int, Scenario, object]:
        swept.append(job)
        return real(job)

    monkeypatch.setattr(keys, "_compute", counted)
    [again] = keys.keyed([cluster], cache=tmp_path, workers=1)
    assert len(swept) == 1, "a stored sweep of another simulator is stale"
    assert again == first
