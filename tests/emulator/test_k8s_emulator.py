"""The emulator as the official ``kubernetes`` client (typed API) and kubectl see it over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import kubernetes.client as k
import pytest
from kubernetes import watch

from tests.emulator import objects as o
from tests.emulator.server import KubernetesEmulator


def _client(emulator: KubernetesEmulator) -> k.ApiClient:
    return k.ApiClient(k.Configuration(host=emulator.url))


def test_create_answers_201_with_the_complete_object(k8s_emulator: KubernetesEmulator) -> None:
    core = k.CoreV1Api(_client(k8s_emulator))
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert created is not None and created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None and created.metadata.generation == 1
    with pytest.raises(k.ApiException) as e:
        core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    assert e.value.status == 409


def test_lists_have_kind_and_resource_version_and_honour_selectors(k8s_emulator: KubernetesEmulator) -> None:
    for name in ("a", "b"):
        k8s_emulator.put(o.node(name, zone=f"zone-{name}"))
    o.seed_workload(k8s_emulator, o.deployment("web", replicas=2), ["a", "b"])
    o.seed_workload(k8s_emulator, o.deployment("api", replicas=1), ["a"])
    core = k.CoreV1Api(_client(k8s_emulator))
    raw = core.list_namespaced_pod("default", _preload_content=False)
    import json

    body = json.loads(raw.data)
    assert body["kind"] == "PodList" and int(body["metadata"]["resourceVersion"]) > 0
    assert len(core.list_namespaced_pod("default", label_selector="app=web").items) == 2
    assert len(core.list_namespaced_pod("default", label_selector="app in (web,api)").items) == 3
    assert len(core.list_namespaced_pod("default", label_selector="app!=web").items) == 1
    assert len(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=b").items) == 1
    assert [n.metadata.name for n in core.list_node(label_selector="topology.kubernetes.io/zone=zone-a").items] == ["a"]


def test_paging_with_limit_and_continue(k8s_emulator: KubernetesEmulator) -> None:
    core = k.CoreV1Api(_client(k8s_emulator))
    for i in range(5):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
    first = core.list_namespaced_config_map("default", limit=2)
    assert len(first.items) == 2 and first.metadata._continue and first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    names = [c.metadata.name for page in (first, second, third) for c in page.items]
    assert names == [f"c{i}" for i in range(5)] and not third.metadata._continue


def test_version_with_trailing_slash_and_core_group_v1(k8s_emulator: KubernetesEmulator) -> None:
    client = _client(k8s_emulator)
    assert k.VersionApi(client).get_code().git_version.startswith("v1.32")
    assert k.CoreApi(client).get_api_versions().versions == ["v1"]
    names = {r.name for r in k.CoreV1Api(client).get_api_resources().resources}
    assert {"pods", "pods/eviction", "nodes/status"} <= names


def test_chaos_mesh_discovery_only_when_installed(k8s_emulator: KubernetesEmulator) -> None:
    apis = k.ApisApi(_client(k8s_emulator))
    assert "chaos-mesh.org" not in {g.name for g in apis.get_api_versions().groups}
    k8s_emulator.install_chaos_mesh()
    groups = {g.name: g for g in apis.get_api_versions().groups}
    assert groups["chaos-mesh.org"].preferred_version.group_version == "chaos-mesh.org/v1alpha1"
    kinds = {
        r.kind
        for r in k.CustomObjectsApi(_client(k8s_emulator)).get_api_resources("chaos-mesh.org", "v1alpha1").resources
    }
    assert {"NetworkChaos", "StressChaos"} <= kinds


def test_merge_patch_null_deletes_and_status_is_a_subresource(k8s_emulator: KubernetesEmulator) -> None:
    k8s_emulator.put(o.node("n", gpus=4, taints=[{"key": "x", "effect": "NoSchedule"}]))
    core = k.CoreV1Api(_client(k8s_emulator))
    core.patch_node(
        "n", {"spec": {"unschedulable": True, "taints": None}}, _content_type="application/merge-patch+json"
    )
    node = core.read_node("n")
    assert node.spec.unschedulable and node.spec.taints is None and node.metadata.generation == 2
    core.patch_node(
        "n",
        {"status": {"allocatable": {"nvidia.com/gpu": "1"}}},
        _content_type="application/merge-patch+json",
    )
    assert core.read_node("n").status.allocatable["nvidia.com/gpu"] == "4"  # main resource ignores status
    core.patch_node_status(
        "n",
        {"status": {"allocatable": {"nvidia.com/gpu": "1"}}},
        _content_type="application/merge-patch+json",
    )
    assert core.read_node("n").status.allocatable["nvidia.com/gpu"] == "1"


def test_strategic_merge_merges_containers_by_name(k8s_emulator: KubernetesEmulator) -> None:
    o.seed_workload(k8s_emulator, o.deployment("web", replicas=1), [])
    apps = k.AppsV1Api(_client(k8s_emulator))
    apps.patch_namespaced_deployment(
        "web",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "side:1"}]}}}},
    )
    names = [c.name for c in apps.read_namespaced_deployment("web", "default").spec.template.spec.containers]
    assert names == ["main", "side"]


def test_resource_version_precondition_conflicts(k8s_emulator: KubernetesEmulator) -> None:
    k8s_emulator.put(o.node("n"))
    core = k.CoreV1Api(_client(k8s_emulator))
    rv = core.read_node("n").metadata.resource_version
    core.patch_node(
        "n",
        {"metadata": {"labels": {"a": "1"}, "resourceVersion": rv}},
        _content_type="application/merge-patch+json",
    )
    with pytest.raises(k.ApiException) as e:
        core.patch_node(
            "n",
            {"metadata": {"labels": {"a": "2"}, "resourceVersion": rv}},
            _content_type="application/merge-patch+json",
        )
    assert e.value.status == 409


def test_eviction_honours_pdb_with_429(k8s_emulator: KubernetesEmulator) -> None:
    k8s_emulator.put(o.node("n"))
    _, pods = o.seed_workload(k8s_emulator, o.deployment("web", replicas=3), ["n"])
    k8s_emulator.put(o.pdb("web", selector={"app": "web"}, max_unavailable=1))
    core = k.CoreV1Api(_client(k8s_emulator))

    def evict(name: str) -> None:
        core.create_namespaced_pod_eviction(
            name, "default", {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
        )

    evict(pods[0]["metadata"]["name"])
    with pytest.raises(k.ApiException) as e:
        evict(pods[1]["metadata"]["name"])
    assert e.value.status == 429 and "disruption budget web needs 2 healthy pods and has 2" in e.value.body
    assert len(core.list_namespaced_pod("default").items) == 2


def test_watch_resumes_from_resource_version_and_expires_with_410(k8s_emulator: KubernetesEmulator) -> None:
    core = k.CoreV1Api(_client(k8s_emulator))
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    core.delete_namespaced_config_map("a", "default")
    events = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=1
        )
    ]
    assert events == [("ADDED", "b"), ("DELETED", "a")]
    k8s_emulator.store.compact()
    with pytest.raises(k.ApiException) as e:
        list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=1))
    assert e.value.status == 410


def test_watch_streams_live_events(k8s_emulator: KubernetesEmulator) -> None:
    core = k.CoreV1Api(_client(k8s_emulator))
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[str] = []

    def consume() -> None:
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
        ):
            seen.append(e["object"].metadata.name)
            if len(seen) == 2:
                break

    t = threading.Thread(target=consume)
    t.start()
    core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    core.create_namespaced_config_map("other", {"metadata": {"name": "y"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "z"}})
    t.join(5)
    assert seen == ["x", "z"]


def test_injected_errors_carry_retry_after(k8s_emulator: KubernetesEmulator) -> None:
    rule = k8s_emulator.fail(r"GET /api/v1/nodes", 429, retry_after=3)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{k8s_emulator.url}/api/v1/nodes", timeout=5)
    assert e.value.code == 429 and e.value.headers["Retry-After"] == "3" and rule.hits == 1
    with urllib.request.urlopen(f"{k8s_emulator.url}/api/v1/nodes", timeout=5) as answer:
        assert answer.status == 200  # the rule was for one request


@pytest.mark.skipif(
    shutil.which("kubectl") is None and os.environ.get("CI") != "true",
    reason="kubectl is not installed on this machine (in CI it must be)",
)
def test_kubectl_reads_the_emulator(k8s_emulator: KubernetesEmulator) -> None:
    k8s_emulator.put(o.node("node-1"))
    out = subprocess.run(
        ["kubectl", "--server", k8s_emulator.url, "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "node/node-1"


def test_chaos_mesh_fixture_serves_the_crds(k8s_emulator_chaos_mesh: KubernetesEmulator) -> None:
    custom = k.CustomObjectsApi(_client(k8s_emulator_chaos_mesh))
    body = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "NetworkChaos",
        "metadata": {"name": "x"},
        "spec": {"action": "delay", "mode": "all", "selector": {"namespaces": ["a"]}, "duration": "30s"},
    }
    created = custom.create_namespaced_custom_object("chaos-mesh.org", "v1alpha1", "a", "networkchaos", body)
    assert created["metadata"]["uid"] and created["spec"]["duration"] == "30s"
