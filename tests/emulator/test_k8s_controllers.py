"""The simulator behind the emulator: replacements, PDB-guarded evictions and NoExecute taints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.resources import PODS
from agent.backends.kubernetes.retry import RetryPolicy
from envs.faults import Fault, FaultKind
from envs.spec import ClusterSpec, LabelSelector, NodeSpec, PdbSpec, PodTemplate, ServiceSpec, Workload
from tests.emulator.controllers import SimulatedControlPlane
from tests.emulator.server import KubernetesEmulator

WEB = "shop/Deployment/web"


def _spec(pdb: dict[str, int]) -> ClusterSpec:
    web_labels = (("app", "web"),)
    return ClusterSpec(
        name="bridge",
        nodes=tuple(NodeSpec(name=f"node-{i}", labels=(("topology.kubernetes.io/zone", "z"),)) for i in range(3)),
        workloads=(
            Workload(
                "shop", "web", "Deployment", 3, PodTemplate(labels=web_labels, startup_s=5.0, termination_grace_s=10.0)
            ),
            Workload("shop", "db", "StatefulSet", 2, PodTemplate(labels=(("app", "db"),), startup_s=5.0)),
        ),
        services=(ServiceSpec("shop", "web", LabelSelector(web_labels), entrypoint=True, load_rps=10),),
        pdbs=(PdbSpec("shop", "web", LabelSelector(web_labels), **pdb),),  # type: ignore[arg-type]
    )


@pytest.fixture
def plane(request: pytest.FixtureRequest, k8s_emulator: KubernetesEmulator) -> Iterator[SimulatedControlPlane]:
    cp = SimulatedControlPlane(k8s_emulator, _spec(getattr(request, "param", {"max_unavailable": 1})))
    cp.advance(60)
    yield cp
    cp.close()


@pytest.fixture
def backend(plane: SimulatedControlPlane) -> Iterator[KubernetesBackend]:
    api = KubeApi.for_host(plane.em.url)
    api.retry = RetryPolicy(attempts=3, base_s=0.01, max_s=0.05)
    b = KubernetesBackend(api, name="bridge")
    b.start(timeout_s=10)
    yield b
    b.close()


def _ready(plane: SimulatedControlPlane, app: str = "web") -> list[str]:
    return sorted(
        p["metadata"]["name"]
        for p in plane.em.list("Pod", "shop", f"app={app}")
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
    )


def test_mirrored_cluster_is_what_the_backend_sees(plane: SimulatedControlPlane, backend: KubernetesBackend) -> None:
    assert len(_ready(plane)) == 3 and len(_ready(plane, "db")) == 2
    assert backend.cache.wait_until(lambda: backend.snapshot().workloads[WEB].ready == 3)
    state = backend.snapshot()
    assert {w.key for w in state.spec.workloads} == {WEB, "shop/StatefulSet/db"} and state.spec.notes == ()


def test_a_deleted_pod_is_replaced_after_the_modelled_delay(plane: SimulatedControlPlane) -> None:
    victim = _ready(plane)[0]
    api = KubeApi.for_host(plane.em.url)
    api.delete(PODS, victim, namespace="shop", grace_period_s=0)
    plane.advance(3.0)  # ReplicaSet reaction 1 s + scheduling 1 s, then 5 s of start-up
    assert victim not in _ready(plane) and len(_ready(plane)) == 2
    assert len(plane.em.list("Pod", "shop", "app=web")) == 3
    plane.advance(5.0)
    assert len(_ready(plane)) == 3 and victim not in _ready(plane)


def test_evictions_honour_the_pdb_until_the_replacement_is_ready(
    plane: SimulatedControlPlane, backend: KubernetesBackend
) -> None:
    first = backend.inject(Fault(FaultKind.POD_EVICTION, 0, WEB), injection_id="e1")
    assert first.outcome == "applied"
    plane.advance(1.0)
    assert backend.cache.wait_until(lambda: backend.snapshot().workloads[WEB].ready == 2)
    second = backend.inject(Fault(FaultKind.POD_EVICTION, 0, WEB), injection_id="e2")
    assert (second.outcome, second.detail) == ("refused", "protected by PDB web")
    plane.advance(15.0)
    assert backend.cache.wait_until(lambda: backend.snapshot().workloads[WEB].ready == 3)
    third = backend.inject(Fault(FaultKind.POD_EVICTION, 0, WEB), injection_id="e3")
    assert third.outcome == "applied"


def test_a_noexecute_taint_evicts_and_keeps_pods_off(plane: SimulatedControlPlane, backend: KubernetesBackend) -> None:
    by_node = {p["spec"]["nodeName"] for p in plane.em.list("Pod", "shop")}
    node = sorted(by_node)[0]
    injection = backend.inject(Fault(FaultKind.NODE_FAILURE, 0, f"Node/{node}"), injection_id="nf")
    assert injection.outcome == "applied"
    plane.advance(8.0)  # Deployment pods are replaced elsewhere at once
    assert len(_ready(plane)) == 3
    plane.advance(40.0)  # a StatefulSet waits out the old pod's 30 s grace before reusing its ordinal
    pods = plane.em.list("Pod", "shop")
    assert node not in {p["spec"].get("nodeName") for p in pods}
    assert len(_ready(plane)) == 3 and len(_ready(plane, "db")) == 2
    backend.revert(injection)
    plane.advance(1.0)
    assert not any(n.cordons for n in plane.sim.nodes)


def test_gpu_failure_kills_the_training_pod_and_keeps_it_off_until_reverted(
        k8s_emulator: KubernetesEmulator) -> None:
    """Every device of gpu-0 fails (high intensity): the pod on them dies, and its replacement finds no
    GPU until the revert restores the count."""
    spec = ClusterSpec(
        name="gpu",
        nodes=(NodeSpec(name="cpu-0"), NodeSpec(name="gpu-0", gpus=2)),
        workloads=(Workload("ml", "train", "Job", 1, PodTemplate(labels=(("job", "train"),), gpus=1, startup_s=5.0)),),
    )
    plane = SimulatedControlPlane(k8s_emulator, spec)
    plane.advance(30)
    api = KubeApi.for_host(k8s_emulator.url)
    backend = KubernetesBackend(api, name="gpu")
    backend.start(timeout_s=10)
    try:
        (pod,) = k8s_emulator.list("Pod", "ml")
        assert pod["spec"]["nodeName"] == "gpu-0"
        injection = backend.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 2, "Node/gpu-0"), injection_id="xid79")
        assert injection.outcome == "applied" and injection.affected_pods == (f"ml/{pod['metadata']['name']}",)
        plane.advance(60)
        (pending,) = k8s_emulator.list("Pod", "ml")
        assert pending["metadata"]["name"] != pod["metadata"]["name"] and "nodeName" not in pending["spec"]
        backend.revert(injection)
        plane.advance(30)
        (back,) = k8s_emulator.list("Pod", "ml")
        assert back["spec"]["nodeName"] == "gpu-0" and back["status"]["phase"] == "Running"
    finally:
        backend.close()
        plane.close()
