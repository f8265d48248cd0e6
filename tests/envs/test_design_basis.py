"""The design basis classifies faults by what they take in the given cluster, and sets by independent failures."""

from __future__ import annotations

import math

import pytest

from envs.design_basis import Basis, DesignBasisBounds, classify, scope_of
from envs.faults import CATALOG, FAULT_KINDS, Fault, FaultKind
from envs.spec import ZONE_LABEL, ClusterSpec, NodeSpec, Pipeline, PodTemplate, Workload

F = FaultKind


def _node(name: str, zone: str, gpus: int = 0) -> NodeSpec:
    return NodeSpec(name, gpus=gpus, labels=((ZONE_LABEL, zone),))


def _workload(name: str, replicas: int, **kw: object) -> Workload:
    return Workload("ns", name, "Deployment", replicas, PodTemplate(labels=(("app", name),)), **kw)  # type: ignore[arg-type]


def _spec(zones: tuple[str, ...] = ("a", "b", "c")) -> ClusterSpec:
    nodes = (*(_node(f"n{i}", zones[i % len(zones)]) for i in range(6)),
             _node("gpu1", zones[0], gpus=1), _node("gpu8", zones[0], gpus=8))
    workloads = (_workload("one", 1), _workload("two", 2), _workload("three", 3),
                 _workload("stage", 2, pipeline=Pipeline("feature_store")))
    return ClusterSpec("t", nodes, workloads)


def _target(kind: FaultKind) -> str:
    if CATALOG[kind].target == "node":
        return "Node/gpu8" if CATALOG[kind].family == "gpu" else "Node/n0"
    return "ns/Deployment/stage" if CATALOG[kind].family == "data" else "ns/Deployment/three"


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind_is_classified_at_every_intensity_with_a_reason_naming_it(kind: FaultKind) -> None:
    spec = _spec()
    for intensity in range(3):
        scope = scope_of(Fault(kind, intensity, _target(kind)), spec)
        assert scope.basis in (Basis.WITHIN, Basis.BEYOND)
        assert kind.value in scope.reason


@pytest.mark.parametrize(("kind", "workload", "intensity", "basis"), [
    (F.POD_KILL, "two", 1, Basis.WITHIN),  # half of two pods is one pod
    (F.POD_KILL, "three", 1, Basis.BEYOND),  # half of three, rounded up, is two
    (F.POD_KILL, "one", 2, Basis.WITHIN),  # every pod of a single replica is still one pod
    (F.POD_KILL, "three", 0, Basis.WITHIN),
    (F.POD_EVICTION, "three", 2, Basis.BEYOND),
    (F.NETWORK_PARTITION, "two", 1, Basis.WITHIN),
    (F.NETWORK_PARTITION, "three", 2, Basis.BEYOND),
    (F.CONTAINER_CRASH, "three", 2, Basis.WITHIN),
])
def test_pod_faults_are_judged_by_the_pods_they_take_in_this_cluster(
        kind: FaultKind, workload: str, intensity: int, basis: Basis) -> None:
    assert scope_of(Fault(kind, intensity, f"ns/Deployment/{workload}"), _spec()).basis is basis


def test_degradations_are_held_to_their_stated_bounds() -> None:
    spec = _spec()
    w = "ns/Deployment/three"
    assert scope_of(Fault(F.NETWORK_JITTER, 2, w), spec).basis is Basis.BEYOND  # 1.5 s sigma
    assert scope_of(Fault(F.NETWORK_LOSS, 2, w), spec).basis is Basis.BEYOND  # 70 %
    assert scope_of(Fault(F.NETWORK_LATENCY, 1, w), spec).basis is Basis.WITHIN
    assert scope_of(Fault(F.DELAYED_INGESTION, 2, "ns/Deployment/stage"), spec).basis is Basis.BEYOND  # an hour
    assert scope_of(Fault(F.DELAYED_INGESTION, 1, "ns/Deployment/stage"), spec).basis is Basis.WITHIN
    strict = DesignBasisBounds(max_added_latency_ms=100.0)
    assert scope_of(Fault(F.NETWORK_LATENCY, 1, w), spec, strict).basis is Basis.BEYOND


def test_gpu_failures_count_devices_of_the_node() -> None:
    spec = _spec()
    assert scope_of(Fault(F.GPU_DEVICE_FAILURE, 1, "Node/gpu1"), spec).basis is Basis.WITHIN
    assert scope_of(Fault(F.GPU_DEVICE_FAILURE, 1, "Node/gpu8"), spec).basis is Basis.BEYOND
    assert scope_of(Fault(F.GPU_DEVICE_FAILURE, 0, "Node/gpu8"), spec).basis is Basis.WITHIN


def test_replicas_now_override_the_spec() -> None:
    fault = Fault(F.POD_KILL, 1, "ns/Deployment/three")
    assert scope_of(fault, _spec(), replicas={"ns/Deployment/three": 2}).basis is Basis.WITHIN


def test_two_independent_failures_are_beyond_but_one_zone_is_one_failure() -> None:
    spec = _spec()  # n0 and n3 in zone a, n1 in zone b
    same_zone = [Fault(F.NODE_FAILURE, 0, "Node/n0"), Fault(F.NODE_DRAIN, 0, "Node/n3")]
    two_zones = [Fault(F.NODE_FAILURE, 0, "Node/n0"), Fault(F.NODE_FAILURE, 0, "Node/n1")]
    mixed = [Fault(F.POD_KILL, 0, "ns/Deployment/three"), Fault(F.NODE_FAILURE, 0, "Node/n0")]
    same_workload = [Fault(F.POD_KILL, 0, "ns/Deployment/three"), Fault(F.NETWORK_LATENCY, 0, "ns/Deployment/three")]
    assert classify(same_zone, spec).basis is Basis.WITHIN
    assert classify(same_zone, spec).failures == 1
    assert classify(two_zones, spec).basis is Basis.BEYOND
    assert classify(mixed, spec).basis is Basis.BEYOND
    assert classify(same_workload, spec).basis is Basis.BEYOND
    one_node_twice = [Fault(F.GPU_DEVICE_FAILURE, 0, "Node/gpu8"), Fault(F.NODE_DRAIN, 0, "Node/gpu8")]
    assert classify(one_node_twice, spec).basis is Basis.WITHIN
    assert classify(two_zones, spec, DesignBasisBounds(concurrent_failures=2)).basis is Basis.WITHIN


def test_in_a_single_zone_cluster_two_nodes_are_two_failures() -> None:
    spec = _spec(zones=("only",))
    assert classify([Fault(F.NODE_FAILURE, 0, "Node/n0"), Fault(F.NODE_FAILURE, 0, "Node/n1")], spec).basis \
        is Basis.BEYOND
    assert classify([Fault(F.NODE_FAILURE, 0, "Node/n0"), Fault(F.NODE_FAILURE, 0, "Node/n1")], spec,
                    DesignBasisBounds(zone_is_one_failure=False)).failures == 2


def test_a_beyond_fault_makes_the_set_beyond_and_says_why() -> None:
    c = classify([Fault(F.POD_KILL, 2, "ns/Deployment/three")], _spec())
    assert c.basis is Basis.BEYOND
    assert "3 of 3 pod(s)" in c.reason


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_bounds_refuse_nan_infinite_and_negative_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="max_packet_loss"):
        DesignBasisBounds(max_packet_loss=bad)
