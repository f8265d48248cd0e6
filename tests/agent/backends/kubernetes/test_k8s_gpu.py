"""GPU device failure: it takes only the pods on the failed devices (what the safety guard counts), and
its lowered count outlives the kubelet's next status report while the fault lasts."""

from __future__ import annotations

import json
import random

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.faults import FAULT_ACTIONS
from agent.backends.kubernetes.faults.gpu import failed_devices, victims
from agent.backends.kubernetes.marks import GPU_ORIGINAL_ANNOTATION
from agent.backends.kubernetes.view import ClusterView
from agent.safety.reach import gpu_devices_hit
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded
from tests.emulator import objects as o

GPU = "nvidia.com/gpu"


def _gpus(seeded: Seeded, field: str = "allocatable") -> str:
    return str(seeded.emulator.get("Node", "gpu-1")["status"][field][GPU])


def _kubelet_reports(seeded: Seeded, count: int) -> None:
    """What the kubelet does at its next node status report: the device plugin's count comes back."""
    em = seeded.emulator
    em.store.patch(em.type_of("Node"), "", "gpu-1", {"status": {"capacity": {GPU: str(count)},
                                                                "allocatable": {GPU: str(count)}}},
                   strategic=False, subresource="status")


@pytest.fixture
def cpu_side(seeded: Seeded) -> list[str]:
    """CPU-only pods beside the GPU pods on gpu-1."""
    _w, pods = o.seed_workload(seeded.emulator, o.deployment("cpu-side", namespace="ml", replicas=2), ["gpu-1"])
    return [f"ml/{p['metadata']['name']}" for p in pods]


@pytest.mark.parametrize("intensity", [0, 1, 2])
def test_only_pods_on_failed_devices_die_and_nothing_is_tainted(
        seeded: Seeded, backend: KubernetesBackend, cpu_side: list[str], intensity: int) -> None:
    em = seeded.emulator
    assert backend.cache.wait_until(lambda: sum(1 for x in backend.cache.objects()
                                                if x["kind"] == "Pod" and "cpu-side" in x["metadata"]["name"]) == 2)
    train = {f"ml/{p['metadata']['name']}" for p in seeded.train_pods}
    fault = Fault(FaultKind.GPU_DEVICE_FAILURE, intensity, "Node/gpu-1")
    injection = backend.inject(fault, injection_id=f"x{intensity}")
    assert injection.outcome == "applied", injection.detail
    hit = gpu_devices_hit(4)[intensity]
    assert set(injection.affected_pods) <= train and len(injection.affected_pods) <= hit
    alive = {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in em.list("Pod")}
    assert set(cpu_side) <= alive, "a CPU-only pod died of a GPU failure"
    assert alive & train == train - set(injection.affected_pods)
    node = em.get("Node", "gpu-1")
    assert "taints" not in node["spec"]
    assert _gpus(seeded) == _gpus(seeded, "capacity") == str(4 - hit)
    if intensity == 2:  # every device: both training pods held one
        assert set(injection.affected_pods) == train
    backend.revert(injection)
    assert _gpus(seeded) == "4" and GPU_ORIGINAL_ANNOTATION not in (em.get("Node", "gpu-1")["metadata"]
                                                                     .get("annotations") or {})


def test_victims_never_exceed_what_the_guard_counts() -> None:
    """For any layout of GPU pods, the pods a failure kills are GPU pods holding a failed device: per
    workload at most min(its GPU pods on the node, devices hit), the guard's node_gpu count."""
    rng = random.Random(7)
    for trial in range(300):
        devices = rng.randint(1, 8)
        pods, used = [], 0
        for i in range(rng.randint(0, 6)):
            want = rng.randint(1, 3)
            if used + want > devices:
                break
            used += want
            owner = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"w{i % 3}", "uid": "u",
                                                                           "namespace": "ml"},
                     "spec": {"template": {"metadata": {"labels": {"w": str(i % 3)}},
                                           "spec": {"containers": [{"name": "m", "resources": {
                                               "limits": {GPU: str(want)}}}]}}}}
            pods.append(o.pod(f"p{i}", owner=owner, node_name="n"))
        for intensity in range(3):
            fault = Fault(FaultKind.GPU_DEVICE_FAILURE, intensity, "Node/n")
            failed = failed_devices(fault, f"t{trial}", devices)
            assert len(failed) == gpu_devices_hit(devices)[intensity]
            killed = victims(pods, failed)
            for w in ("0", "1", "2"):
                of_w = [p for p in pods if p["metadata"]["labels"]["w"] == w]
                mine = [k for k in killed if k.split("/")[1] in {p["metadata"]["name"] for p in of_w}]
                assert len(mine) <= min(len(of_w), len(failed))


def test_the_lowered_count_survives_the_kubelets_status_report(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 1, "Node/gpu-1"), injection_id="g1")
    assert injection.outcome == "applied" and _gpus(seeded) == "2"
    _kubelet_reports(seeded, 4)
    backend.wait(1.5)
    assert _gpus(seeded) == _gpus(seeded, "capacity") == "2", "the kubelet's report undid the fault"
    record = json.loads(seeded.emulator.get("Node", "gpu-1")["metadata"]["annotations"][GPU_ORIGINAL_ANNOTATION])
    assert record == {"id": "g1", "capacity": 4, "allocatable": 4, "lowered": {"capacity": 2, "allocatable": 2}}
    backend.revert(injection)
    assert _gpus(seeded) == "4"
    _kubelet_reports(seeded, 3)  # a real device loss after the fault: the agent must not touch it
    backend.wait(1.5)
    assert _gpus(seeded) == "3"


def test_a_second_failure_on_the_node_is_refused(seeded: Seeded, backend: KubernetesBackend) -> None:
    injection = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 1, "Node/gpu-1"), injection_id="g1")
    at_once = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-1"), injection_id="g2")
    assert at_once.outcome == "refused"  # even when the cache has not seen the first one yet
    assert backend.cache.wait_until(lambda: backend.snapshot().nodes["Node/gpu-1"].gpus_allocatable == 2)
    again = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-1"), injection_id="g2")
    assert again.outcome == "refused" and "already active" in again.detail
    backend.revert(injection)
    assert FAULT_ACTIONS[FaultKind.GPU_DEVICE_FAILURE].marked(ctx=backend.ctx) == set()


def test_the_plan_is_reproducible(backend: KubernetesBackend) -> None:
    action = FAULT_ACTIONS[FaultKind.GPU_DEVICE_FAILURE]
    fault = Fault(FaultKind.GPU_DEVICE_FAILURE, 1, "Node/gpu-1")
    plans = [action.plan(fault, injection_id="same", view=ClusterView(backend.cache.objects()), ctx=backend.ctx)
             for _ in range(2)]
    assert plans[0] == plans[1] and plans[0].body is not None and len(plans[0].body["failed"]) == 2
