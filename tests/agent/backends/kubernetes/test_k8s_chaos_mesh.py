"""Chaos Mesh faults: applied only once Chaos Mesh reports them injected, refused with its reason
otherwise, reverted only once the object is gone; the main container stressed; partitions cut from the
whole selector; and every body valid under Chaos Mesh's own CRD schemas (fetched from its Go module)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.faults import FAULT_ACTIONS
from agent.backends.kubernetes.faults.chaos_spec import DEFAULT_CONTAINER_ANNOTATION
from agent.backends.kubernetes.faults.network import chaos_object
from agent.backends.kubernetes.view import ClusterView
from agent.config.cluster import KubernetesCluster
from agent.errors import BackendError
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded, fast_api
from tests.emulator import objects as o
from tests.emulator.chaos_mesh import ChaosMeshController
from tests.servers.go_modules import chaos_mesh_crd

CHAOS_KINDS = (FaultKind.NETWORK_LATENCY, FaultKind.NETWORK_JITTER, FaultKind.NETWORK_LOSS,
               FaultKind.NETWORK_PARTITION, FaultKind.CPU_STRESS)


@pytest.fixture
def chaos_mesh(seeded: Seeded) -> ChaosMeshController:
    return seeded.emulator.install_chaos_mesh()


@pytest.fixture
def quick(seeded: Seeded, chaos_mesh: ChaosMeshController) -> Iterator[KubernetesBackend]:
    """A backend that waits half a second for Chaos Mesh, either way."""
    settings = KubernetesCluster(chaos_mesh_inject_timeout_s=0.5, chaos_mesh_revert_timeout_s=0.5)
    b = KubernetesBackend(fast_api(seeded.emulator), settings=settings)
    b.start(timeout_s=10)
    yield b
    b.close()


def _seed(seeded: Seeded, backend: KubernetesBackend, workload: dict[str, Any], nodes: list[str],
          pods: int) -> list[dict[str, Any]]:
    _w, made = o.seed_workload(seeded.emulator, workload, nodes)
    key = f"{workload['metadata']['namespace']}/{workload['kind']}/{workload['metadata']['name']}"
    assert backend.cache.wait_until(lambda: len(_view(backend).pods_of(key)) == pods)
    return made


def _plan(backend: KubernetesBackend, fault: Fault) -> Any:
    return FAULT_ACTIONS[fault.kind].plan(fault, injection_id="p", view=ClusterView(backend.cache.objects()),
                                          ctx=backend.ctx)


def test_applied_only_once_chaos_mesh_reports_every_target_injected(
        seeded: Seeded, backend: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    chaos_mesh.delay_s = 0.3
    injection = backend.inject(Fault(FaultKind.NETWORK_LATENCY, 0, "shop/Deployment/web"), injection_id="n1")
    assert injection.outcome == "applied", injection.detail
    assert "Chaos Mesh injected it into 3 target(s)" in injection.detail
    (obj,) = seeded.emulator.list("NetworkChaos", "shop")
    assert {c["type"]: c["status"] for c in obj["status"]["conditions"]}["AllInjected"] == "True"


def test_no_report_from_chaos_mesh_is_refused_and_the_object_deleted(
        seeded: Seeded, quick: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    chaos_mesh.injects = False  # the controller-manager is down
    injection = quick.inject(Fault(FaultKind.CPU_STRESS, 0, "shop/Deployment/web"), injection_id="s1")
    assert injection.outcome == "refused"
    assert "not injected within 0.5 s: Chaos Mesh has selected no target yet" in injection.detail
    assert seeded.emulator.list("StressChaos") == []


def test_a_host_network_pod_is_refused_with_chaos_meshs_reason(
        seeded: Seeded, backend: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    edge = o.deployment("edge", namespace="shop", replicas=1)
    edge["spec"]["template"]["spec"]["hostNetwork"] = True
    made = _seed(seeded, backend, edge, ["node-a"], 1)
    injection = backend.inject(Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/edge"), injection_id="h1")
    assert injection.outcome == "refused"
    pod = made[0]["metadata"]["name"]
    assert (f"1 of 1 target(s) failed: shop/{pod}: It's dangerous to inject network chaos on a pod(shop/{pod}) "
            "with `hostNetwork`") in injection.detail
    assert seeded.emulator.list("NetworkChaos") == []


def test_revert_returns_once_the_records_finalizer_is_done(
        seeded: Seeded, backend: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    injection = backend.inject(Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/web"), injection_id="r1")
    assert seeded.emulator.get("NetworkChaos", chaos_object(_plan_for(backend, injection.fault, "r1"))["metadata"]
                               ["name"], "shop")["metadata"]["finalizers"] == ["chaos-mesh/records"]
    chaos_mesh.recover_delay_s = 0.5
    started = time.monotonic()
    backend.revert(injection)
    assert time.monotonic() - started >= 0.4, "revert returned while Chaos Mesh still held the rules"
    assert seeded.emulator.list("NetworkChaos") == []


def _plan_for(backend: KubernetesBackend, fault: Fault, injection_id: str) -> Any:
    return FAULT_ACTIONS[fault.kind].plan(fault, injection_id=injection_id,
                                          view=ClusterView(backend.cache.objects()), ctx=backend.ctx)


def test_a_finalizer_that_stays_fails_the_revert_and_the_sweep_keeps_trying(
        seeded: Seeded, quick: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    injection = quick.inject(Fault(FaultKind.NETWORK_JITTER, 0, "shop/Deployment/web"), injection_id="stuck")
    assert injection.outcome == "applied"
    chaos_mesh.holds_finalizers = True
    with pytest.raises(BackendError, match=r"NetworkChaos shop/\S+ \(held by chaos-mesh/records\) still "
                                           r"terminating 0.5 s after its delete.*the sweep keeps trying"):
        quick.revert(injection)
    with pytest.raises(BackendError, match="still terminating"):
        quick.revert_orphans(())
    assert quick.orphans_left
    threading.Timer(0.2, chaos_mesh.release_finalizers).start()  # Chaos Mesh catches up during the sweep
    assert quick.revert_orphans(()) == ["stuck"]
    assert seeded.emulator.list("NetworkChaos") == [] and not quick.orphans_left


def test_stress_names_the_main_container_not_an_injected_sidecar(
        seeded: Seeded, backend: KubernetesBackend, chaos_mesh: ChaosMeshController) -> None:
    meshed = o.deployment("meshed", namespace="shop", replicas=2)
    meshed["spec"]["template"]["spec"]["containers"][0]["name"] = "app"
    stored = seeded.emulator.put(meshed)
    for i in range(2):  # as a mesh's admission webhook leaves them: its proxy first
        pod = o.pod(f"meshed-{i}", owner=stored, node_name="node-a")
        pod["spec"]["containers"] = [{"name": "istio-proxy", "image": "proxy"}, *pod["spec"]["containers"]]
        seeded.emulator.put(pod)
    assert backend.cache.wait_until(lambda: len(_view(backend).pods_of("shop/Deployment/meshed")) == 2)
    injection = backend.inject(Fault(FaultKind.CPU_STRESS, 0, "shop/Deployment/meshed"), injection_id="st")
    assert injection.outcome == "applied", injection.detail
    (stress,) = seeded.emulator.list("StressChaos", "shop")
    assert stress["spec"]["containerNames"] == ["app"]
    assert sorted(r["id"] for r in stress["status"]["experiment"]["containerRecords"]) == [
        "shop/meshed-0/app", "shop/meshed-1/app"]


def test_the_default_container_annotation_wins(seeded: Seeded, backend: KubernetesBackend,
                                               chaos_mesh: ChaosMeshController) -> None:
    multi = o.deployment("multi", namespace="shop", replicas=1)
    template = multi["spec"]["template"]
    template["metadata"]["annotations"] = {DEFAULT_CONTAINER_ANNOTATION: "worker"}
    template["spec"]["containers"].append({"name": "worker", "image": "w", "resources": {"requests": {"cpu": "2"}}})
    _seed(seeded, backend, multi, ["node-a"], 1)
    plan = _plan(backend, Fault(FaultKind.CPU_STRESS, 1, "shop/Deployment/multi"))
    assert plan.body["containerNames"] == ["worker"]
    assert plan.body["stressors"]["cpu"]["workers"] == 2  # the worker container's cores, not the pod's


def _view(backend: KubernetesBackend) -> ClusterView:
    return ClusterView(backend.cache.objects())


def _partition_target(backend: KubernetesBackend, target: str) -> dict[str, Any]:
    plan = _plan(backend, Fault(FaultKind.NETWORK_PARTITION, 1, target))
    assert plan.verdict == "go", plan.detail
    return dict(plan.body["target"]["selector"])


def test_a_partition_is_cut_from_the_whole_selector(seeded: Seeded, backend: KubernetesBackend,
                                                    chaos_mesh: ChaosMeshController) -> None:
    db = sorted(p["metadata"]["name"] for p in seeded.db_pods)
    web = sorted(p["metadata"]["name"] for p in seeded.web_pods)
    # one matchLabels pair: its negation selects exactly the others, pods made later included
    assert _partition_target(backend, "shop/Deployment/web") == {
        "namespaces": ["shop"], "expressionSelectors": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    # two pairs: the complement is a disjunction, so the others are named
    front = o.deployment("front", namespace="shop", replicas=1, labels={"app": "web", "tier": "front"})
    front_pods = _seed(seeded, backend, front, ["node-a"], 1)
    target = _partition_target(backend, "shop/Deployment/front")
    assert target == {"pods": {"shop": sorted(db + web)}}, "web shares app=web but is not front: it is a peer"
    # matchExpressions only: never the whole namespace
    expr = o.statefulset("expr", namespace="shop", replicas=1, labels={"role": "cache"})
    expr["spec"]["selector"] = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["cache"]}]}
    _seed(seeded, backend, expr, ["node-b"], 1)
    assert _partition_target(backend, "shop/StatefulSet/expr") == {
        "namespaces": ["shop"], "expressionSelectors": [{"key": "role", "operator": "NotIn", "values": ["cache"]}]}
    assert front_pods


def test_a_partition_with_no_peer_is_refused(seeded: Seeded, backend: KubernetesBackend,
                                             chaos_mesh: ChaosMeshController) -> None:
    plan = _plan(backend, Fault(FaultKind.NETWORK_PARTITION, 0, "ml/Job/train"))
    assert (plan.verdict, plan.detail) == ("refused", "no other pod in namespace ml to partition the workload from")


def _strict(schema: Any) -> Any:
    """The CRD's schema as the API server applies it with fieldValidation=Strict: unknown fields fail."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@pytest.mark.parametrize("kind", CHAOS_KINDS, ids=[k.value for k in CHAOS_KINDS])
def test_every_body_passes_chaos_meshs_own_crd_schema(seeded: Seeded, backend: KubernetesBackend,
                                                       chaos_mesh: ChaosMeshController, kind: FaultKind) -> None:
    front = o.deployment("front", namespace="shop", replicas=2, labels={"app": "web", "tier": "front"})
    _seed(seeded, backend, front, ["node-a"], 2)
    plural = "stresschaos" if kind == FaultKind.CPU_STRESS else "networkchaos"
    crd = chaos_mesh_crd(plural)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    validator = jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))
    checked = 0
    for target in ("shop/Deployment/web", "shop/Deployment/front", "shop/StatefulSet/db"):
        for intensity in range(3):
            for duration in (0.5, 90.0, 3600.0):
                plan = FAULT_ACTIONS[kind].plan(Fault(kind, intensity, target, duration_s=duration),
                                                injection_id=f"Run 7/{intensity}", view=_view(backend),
                                                ctx=backend.ctx)
                assert plan.verdict == "go", plan.detail
                body = copy.deepcopy(chaos_object(plan))
                errors = sorted(validator.iter_errors(body), key=str)
                assert not errors, f"{target} {intensity}: {errors[0].message} at {list(errors[0].path)}"
                assert crd["spec"]["names"]["kind"] == body["kind"] and crd["spec"]["group"] in body["apiVersion"]
                checked += 1
    assert checked == 27
