"""The API layer against the emulator: verbs, paging, error mapping, retries, timeouts, kubeconfig."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml

from agent.backends.kubernetes import errors
from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.resources import CONFIGMAPS, NODES, PODS
from agent.backends.kubernetes.retry import RetryPolicy
from agent.config.cluster import KubernetesCluster
from agent.errors import BackendError
from tests.agent.backends.kubernetes.conftest import fast_api
from tests.emulator import objects as o
from tests.emulator.server import KubernetesEmulator


def test_list_pages_through_limit_and_continue(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    for i in range(7):
        api.create(CONFIGMAPS, {"metadata": {"name": f"c{i}"}}, namespace="ns")
    api.page_size = 3
    result = api.list(CONFIGMAPS)
    assert [c["metadata"]["name"] for c in result.items] == [f"c{i}" for i in range(7)]
    assert all(c["kind"] == "ConfigMap" for c in result.items) and result.resource_version
    pages = [r for r in k8s_emulator.requests if r.path == "/api/v1/configmaps"]
    assert [r.query.get("limit") for r in pages] == ["3", "3", "3"]
    assert "continue" in pages[1].query and "continue" in pages[2].query


def test_list_restarts_when_the_continue_token_expires(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    for i in range(4):
        api.create(CONFIGMAPS, {"metadata": {"name": f"c{i}"}}, namespace="ns")
    api.page_size = 2
    first = api.list_page(CONFIGMAPS, limit=2)
    api.create(CONFIGMAPS, {"metadata": {"name": "c4"}}, namespace="ns")
    k8s_emulator.store.compact()
    with pytest.raises(errors.Gone):
        api.list_page(CONFIGMAPS, limit=2, continue_token=first["metadata"]["continue"])
    assert len(api.list(CONFIGMAPS).items) == 5


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequest),
        (403, errors.Unauthorized),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (410, errors.Gone),
        (429, errors.TooManyRequests),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_maps_to_the_error_hierarchy(
    k8s_emulator: KubernetesEmulator, status: int, cls: type[errors.KubernetesApiError]
) -> None:
    api = fast_api(k8s_emulator, attempts=1)
    k8s_emulator.fail(r"GET /api/v1/nodes", status)
    with pytest.raises(cls) as e:
        api.list_page(NODES)
    assert isinstance(e.value, BackendError) and e.value.status == status
    assert "GET /api/v1/nodes" in str(e.value)


def test_not_found_is_raised_from_a_real_answer(api: KubeApi) -> None:
    with pytest.raises(errors.NotFound, match='nodes "ghost" not found'):
        api.get(NODES, "ghost")


def test_long_payloads_are_cut_short_in_messages() -> None:
    body = b'{"kind": "Status", "message": "' + b"x" * 5000 + b'", "reason": "Invalid"}'
    e = errors.error_from_response(422, body, {}, method="POST", path="/api/v1/pods")
    assert len(str(e)) < 500 and "more chars" in str(e)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(k8s_emulator: KubernetesEmulator, api: KubeApi, status: int) -> None:
    rule = k8s_emulator.fail(r"GET /api/v1/nodes", status, times=2)
    k8s_emulator.put(o.node("n"))
    assert [n["metadata"]["name"] for n in api.list(NODES).items] == ["n"]
    assert rule.hits == 2


def test_retry_after_is_honoured(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    sleeps: list[float] = []
    api.retry = RetryPolicy(attempts=3, base_s=0.01, max_s=0.05, sleep=sleeps.append)
    k8s_emulator.fail(r"GET /api/v1/nodes", 429, retry_after=2)
    api.list(NODES)
    assert sleeps == [2.0]


def test_backoff_is_exponential_with_jitter_and_bounded() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=8.0)
    err = errors.ServerError("x", status=500)
    for attempt in range(1, 8):
        ceiling = min(8.0, 2 ** (attempt - 1))
        delays = [policy.delay(attempt, err) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays) and len(set(delays)) > 1


def test_retries_give_up_after_the_attempts(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    rule = k8s_emulator.fail(r"GET /api/v1/nodes", 503, times=10)
    with pytest.raises(errors.ServerError):
        api.list(NODES)
    assert rule.hits == 4


def test_client_errors_are_not_retried(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    rule = k8s_emulator.fail(r"GET /api/v1/nodes", 403, times=5)
    with pytest.raises(errors.Unauthorized):
        api.list(NODES)
    assert rule.hits == 1


def test_a_slow_answer_times_out_and_is_retried(k8s_emulator: KubernetesEmulator) -> None:
    api = fast_api(k8s_emulator, timeout_s=0.3, attempts=3)
    rule = k8s_emulator.fail(r"GET /api/v1/nodes", delay_s=1.0)
    start = time.monotonic()
    assert api.list(NODES).items == []
    assert rule.hits == 1 and time.monotonic() - start < 1.5


def test_slow_answers_every_time_raise_unreachable(k8s_emulator: KubernetesEmulator) -> None:
    api = fast_api(k8s_emulator, timeout_s=0.2, attempts=2)
    k8s_emulator.fail(r"GET /api/v1/nodes", delay_s=0.6, times=2)
    with pytest.raises(errors.Unreachable) as e:
        api.list(NODES)
    assert e.value.__cause__ is not None


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = KubeApi.for_host(f"http://127.0.0.1:{port}")
    api.retry = RetryPolicy(attempts=2, base_s=0.01, max_s=0.01)
    with pytest.raises(errors.Unreachable):
        api.server_version()


def test_eviction_refused_by_pdb_is_not_a_rate_limit(k8s_emulator: KubernetesEmulator, api: KubeApi) -> None:
    k8s_emulator.put(o.node("n"))
    _, pods = o.seed_workload(k8s_emulator, o.deployment("web", replicas=2), ["n"])
    k8s_emulator.put(o.pdb("web-pdb", selector={"app": "web"}, min_available=2))
    with pytest.raises(errors.DisruptionBudgetRefused) as e:
        api.evict(pods[0]["metadata"]["name"], namespace="default", grace_period_s=5)
    assert e.value.pdb_name == "web-pdb"
    evictions = [r for r in k8s_emulator.requests if r.path.endswith("/eviction")]
    assert len(evictions) == 1 and evictions[0].body["deleteOptions"] == {"gracePeriodSeconds": 5}


def test_kubeconfig_with_a_named_context(k8s_emulator: KubernetesEmulator, tmp_path: Path) -> None:
    k8s_emulator.put(o.node("from-kubeconfig"))
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "elsewhere",
                "clusters": [
                    {"name": "emu", "cluster": {"server": k8s_emulator.url}},
                    {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}},
                ],
                "users": [{"name": "tester", "user": {"token": "t0ken"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emu", "user": "tester"}},
                    {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "tester"}},
                ],
            }
        )
    )
    api = KubeApi.connect(KubernetesCluster(kubeconfig=path, context="emulator"))
    assert [n["metadata"]["name"] for n in api.list(NODES).items] == ["from-kubeconfig"]
    with pytest.raises(BackendError, match="context 'missing'"):
        KubeApi.connect(KubernetesCluster(kubeconfig=path, context="missing"))


def test_in_cluster_config_outside_a_cluster_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(BackendError, match=r"cluster\.kubernetes\.kubeconfig"):
        KubeApi.connect(KubernetesCluster())


def test_create_returns_the_stored_object(api: KubeApi) -> None:
    pod = o.pod(
        "p",
        owner={
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "rs", "namespace": "default", "uid": "u"},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                }
            },
        },
        node_name=None,
    )
    created = api.create(PODS, pod, namespace="default")
    assert created["metadata"]["uid"] and "status" not in created  # the API server drops status on create
