"""Node objects as they are, and the default pool made when there are none."""

from __future__ import annotations

import math

from envs.spec import HOSTNAME_LABEL, ZONE_LABEL, Taint
from envs.twin import spec_from_objects
from tests.envs.twin.objects import container, deployment, job, node


def test_node_allocatable_labels_taints_and_cordon() -> None:
    n = node(
        "gpu-1",
        cpu="47810m",
        memory="194865176Ki",
        gpus="4",
        zone="us-east-1a",
        taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
    )
    n["status"]["capacity"]["cpu"] = "48"
    n["spec"]["unschedulable"] = True
    spec = spec_from_objects([n], name="t")
    (got,) = spec.nodes
    assert (got.cpu_millis, got.memory_mib, got.gpus) == (47810, 190299, 4)
    assert got.zone == "us-east-1a"
    assert got.label_map[HOSTNAME_LABEL] == "gpu-1"
    assert got.taints == (Taint("nvidia.com/gpu", "NoSchedule", "present"),)
    assert got.unschedulable


def test_capacity_is_used_without_allocatable_and_legacy_zone_label_is_read() -> None:
    n = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "old", "labels": {"failure-domain.beta.kubernetes.io/zone": "eu-1b"}},
        "status": {"capacity": {"cpu": "2", "memory": "8Gi"}},
    }
    (got,) = spec_from_objects([n], name="t").nodes
    assert (got.cpu_millis, got.memory_mib, got.zone) == (2000, 8192, "eu-1b")


def test_node_without_status_gets_defaults_and_a_note() -> None:
    spec = spec_from_objects([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bare"}}], name="t")
    assert (spec.nodes[0].cpu_millis, spec.nodes[0].memory_mib) == (8000, 32768)
    assert any("Node bare: no status.allocatable or status.capacity" in n for n in spec.notes)


def test_malformed_node_is_skipped_with_a_note() -> None:
    bad = node("n1", cpu="lots")
    spec = spec_from_objects([bad, node("n2")], name="t")
    assert [n.name for n in spec.nodes] == ["n2"]
    assert any(n.startswith("skipped Node n1: status.allocatable.cpu must be a quantity") for n in spec.notes)


def test_default_pool_spans_three_zones_with_headroom() -> None:
    big = container(cpu="1500m", memory="2Gi")
    spec = spec_from_objects([deployment("web", replicas=10, containers=[big])], name="t")
    names = [n.name for n in spec.nodes]
    assert all(name.startswith("general-") for name in names)
    assert len(names) % 3 == 0
    assert {n.zone for n in spec.nodes} == {"zone-a", "zone-b", "zone-c"}
    total_cpu = sum(n.cpu_millis for n in spec.nodes)
    assert 0.7 * total_cpu >= 10 * 1500
    # no bigger than needed: one zone-round fewer would break the 70% rule
    assert 0.7 * (total_cpu - 3 * 4000) < 10 * 1500
    assert any(n.startswith("no Node objects in the input: made a default pool of") for n in spec.notes)


def test_default_pool_has_at_least_three_nodes_and_one_per_spread_replica() -> None:
    assert len(spec_from_objects([deployment("tiny")], name="t").nodes) == 3
    spread = deployment(
        "web",
        replicas=5,
        affinity={
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app": "web"}},
                    }
                ]
            }
        },
    )
    assert len(spec_from_objects([spread], name="t").nodes) == 6


def test_default_pool_adds_gpu_nodes_for_gpu_workloads() -> None:
    trainer = job("train", parallelism=3, containers=[container(cpu="8", memory="48Gi", gpus=2)])
    spec = spec_from_objects([deployment("web"), trainer], name="t")
    gpu_nodes = [n for n in spec.nodes if n.gpus]
    assert gpu_nodes and all(n.name.startswith("gpu-") for n in gpu_nodes)
    assert sum(n.gpus for n in gpu_nodes) >= math.ceil(6 / 0.7)
    assert all(n.label_map["nvidia.com/gpu.present"] == "true" for n in gpu_nodes)
    assert any("x gpu (16 CPU, 64 GiB, 4 nvidia.com/gpu)" in n for n in spec.notes)


def test_default_pool_grows_nodes_for_a_pod_larger_than_the_standard_size() -> None:
    spec = spec_from_objects([deployment("db", containers=[container(cpu="6", memory="40Gi")])], name="t")
    assert all(n.cpu_millis >= 6000 and n.memory_mib >= 40 * 1024 for n in spec.nodes)


def test_default_pool_carries_labels_workloads_select() -> None:
    pinned = deployment("search", nodeSelector={"pool": "highmem", "kubernetes.io/os": "linux"})
    spec = spec_from_objects([deployment("web"), pinned], name="t")
    labelled = [n for n in spec.nodes if n.label_map.get("pool") == "highmem"]
    assert labelled and all(n.label_map["kubernetes.io/os"] == "linux" for n in spec.nodes)
    assert any(n.name.startswith("general-") for n in spec.nodes)


def test_default_pool_is_sized_after_daemonset_overhead() -> None:
    agent = deployment(
        "agent", containers=[container(cpu="1", memory="1Gi")], tolerations=[{"operator": "Exists"}]
    )
    agent["kind"] = "DaemonSet"
    spec = spec_from_objects(
        [deployment("web", replicas=6, containers=[container(cpu="1")]), agent], name="t"
    )
    assert all(n.cpu_millis == 3000 for n in spec.nodes)
    assert 0.7 * sum(n.cpu_millis for n in spec.nodes) >= 6000


def test_zone_label_key_is_standard() -> None:
    (n, *_) = spec_from_objects([deployment("web")], name="t").nodes
    assert n.label_map[ZONE_LABEL] == "zone-a"
