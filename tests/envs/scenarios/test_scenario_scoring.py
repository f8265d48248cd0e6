"""score_finding: a finding matches a planted weakness only by violation, affected workload and trigger."""

from __future__ import annotations

import pytest

from envs.faults import Fault, FaultKind
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario, Trigger, distinct_causes, score_finding
from envs.spec import ClusterSpec

API = "shop/Deployment/api"
DB = "shop/Deployment/db"
NODE_A, NODE_B = "Node/a", "Node/b"
K = FaultKind


def _scenario(*weaknesses: PlantedWeakness) -> Scenario:
    return Scenario("t", 0, ClusterSpec("t", (), ()), weaknesses, (), control=False)


def _req(kind: FaultKind, target: str, min_intensity: int = 0) -> FaultRequirement:
    return FaultRequirement(frozenset({kind}), target, min_intensity)


LATENCY = PlantedWeakness("c1", "intensity", "availability", API,
                          (Trigger((_req(K.NETWORK_LATENCY, DB, 1),)),), "tight timeout")
NODES = PlantedWeakness("c2", "two_fault", "availability", API,
                        (Trigger((_req(K.NODE_FAILURE, NODE_A), _req(K.NODE_FAILURE, NODE_B))),), "pool of two")


def test_min_intensity_is_a_floor() -> None:
    s = _scenario(LATENCY)
    assert score_finding(s, [Fault(K.NETWORK_LATENCY, 0, DB)], "availability", [API]) is None
    assert score_finding(s, [Fault(K.NETWORK_LATENCY, 1, DB)], "availability", [API]) == "c1"
    assert score_finding(s, [Fault(K.NETWORK_LATENCY, 2, DB)], "availability", [API]) == "c1"


def test_wrong_violation_kind_or_target_is_a_false_finding() -> None:
    s = _scenario(LATENCY)
    f = Fault(K.NETWORK_LATENCY, 2, DB)
    assert score_finding(s, [f], "latency", [API]) is None
    assert score_finding(s, [Fault(K.NETWORK_JITTER, 2, DB)], "availability", [API]) is None
    assert score_finding(s, [Fault(K.NETWORK_LATENCY, 2, API)], "availability", [API]) is None


def test_affected_workload_must_be_reported() -> None:
    s = _scenario(LATENCY)
    f = Fault(K.NETWORK_LATENCY, 2, DB)
    assert score_finding(s, [f], "availability", [DB]) is None
    assert score_finding(s, [f], "availability", [DB, API]) == "c1"


def test_and_trigger_needs_every_requirement_met_by_distinct_faults() -> None:
    s = _scenario(NODES)
    a, b = Fault(K.NODE_FAILURE, 0, NODE_A), Fault(K.NODE_FAILURE, 0, NODE_B)
    assert score_finding(s, [a], "availability", [API]) is None
    assert score_finding(s, [a, a], "availability", [API]) is None
    assert score_finding(s, [a, b], "availability", [API]) == "c2"
    assert score_finding(s, [b, a], "availability", [API]) == "c2"


def test_same_requirement_twice_needs_two_faults() -> None:
    r = _req(K.POD_KILL, DB)
    w = PlantedWeakness("c3", "two_fault", "availability", API, (Trigger((r, r)),), "two kills")
    s = _scenario(w)
    kill = Fault(K.POD_KILL, 0, DB)
    assert score_finding(s, [kill], "availability", [API]) is None
    assert score_finding(s, [kill, Fault(K.POD_KILL, 1, DB)], "availability", [API]) == "c3"


def test_extra_faults_do_not_hide_a_match_and_order_breaks_ties() -> None:
    broad = PlantedWeakness("c9", "shallow", "availability", API,
                            (Trigger((FaultRequirement(frozenset(K), DB, 0),)),), "anything on db")
    s = _scenario(LATENCY, broad)
    noise = Fault(K.CPU_STRESS, 0, "shop/Deployment/other")
    assert score_finding(s, [noise, Fault(K.NETWORK_LATENCY, 2, DB)], "availability", [API]) == "c1"
    assert score_finding(s, [noise, Fault(K.POD_KILL, 0, DB)], "availability", [API]) == "c9"


def test_trigger_needs_a_requirement() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Trigger(())


def test_distinct_causes_tells_one_cause_reported_twice_from_two_causes_sharing_evidence() -> None:
    # The lost leader's weakness also shows the edge without retries (one node failure, two causes).
    assert distinct_causes([{"c08", "c10"}, {"c10"}]) == {0: "c08", 1: "c10"}
    assert len(distinct_causes([{"c10"}, {"c10"}])) == 1, "one root cause reported twice"
    assert distinct_causes([{None}, {"c01", None}]) == {1: "c01"}, "a false finding stands for no cause"
    # Order does not matter: an augmenting path moves the first weakness off the contested cause.
    assert len(distinct_causes([{"c10", "c08"}, {"c10"}, {"c08", "c03"}])) == 3
