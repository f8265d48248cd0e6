"""The watch cache (list once, watch, reconnect, relist on 410) and the snapshot built from it."""

from __future__ import annotations

import time

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.resources import CONFIGMAPS, LEASES, NODES, PODS
from agent.backends.kubernetes.state import rollout_in_progress
from agent.errors import BackendError
from tests.agent.backends.kubernetes.conftest import Seeded
from tests.emulator import objects as o


def _names(backend: KubernetesBackend, res: object) -> set[str]:
    return {x["metadata"]["name"] for x in backend.cache.objects([res])}  # type: ignore[list-item]


def test_snapshot_lists_once_then_follows_watches(seeded: Seeded, backend: KubernetesBackend) -> None:
    first = backend.snapshot()
    assert set(first.nodes) == {"Node/node-a", "Node/node-b", "Node/gpu-1"}
    seeded.emulator.put(o.node("node-c"))
    assert backend.cache.wait_until(lambda: "node-c" in _names(backend, NODES))
    for _ in range(3):
        backend.snapshot()
    assert backend.cache.stats(NODES)[0] == 1  # no relist for decisions
    assert len([r for r in seeded.emulator.requests if r.path == "/api/v1/nodes" and "watch" not in r.query]) == 1


def test_snapshot_lists_in_pages(seeded: Seeded) -> None:
    from tests.agent.backends.kubernetes.conftest import fast_api

    api = fast_api(seeded.emulator)
    api.page_size = 2
    b = KubernetesBackend(api)
    b.start(timeout_s=10)
    try:
        assert len(b.cache.objects([PODS])) == 7
        pages = [r for r in seeded.emulator.requests if r.path == "/api/v1/pods" and "watch" not in r.query]
        assert len(pages) == 4 and all(r.query["limit"] == "2" for r in pages)
    finally:
        b.close()


def test_dropped_watch_reconnects_from_its_resource_version(seeded: Seeded, backend: KubernetesBackend) -> None:
    assert backend.cache.wait_until(lambda: backend.cache.stats(NODES)[1] == 1)
    assert seeded.emulator.drop_watches("/api/v1/nodes") == 1
    seeded.emulator.put(o.node("late"))
    assert backend.cache.wait_until(lambda: "late" in _names(backend, NODES))
    lists, watches = backend.cache.stats(NODES)
    assert lists == 1 and watches >= 2
    resumed = [r for r in seeded.emulator.requests if r.path == "/api/v1/nodes" and r.query.get("watch")]
    assert int(resumed[-1].query["resourceVersion"]) > 0


def test_expired_watch_relists(seeded: Seeded, backend: KubernetesBackend) -> None:
    assert backend.cache.wait_until(lambda: backend.cache.stats(NODES)[1] == 1)
    # the watch is cut, and while it reconnects (held 0.5 s) the history is compacted past its
    # resourceVersion: resuming gets 410 Gone, so the cache relists
    seeded.emulator.fail(r"GET /api/v1/nodes\?.*watch=true", delay_s=0.5)
    seeded.emulator.drop_watches("/api/v1/nodes")
    seeded.emulator.put(o.node("after-compaction"))
    seeded.emulator.store.compact()
    assert backend.cache.wait_until(lambda: "after-compaction" in _names(backend, NODES), timeout_s=5)
    assert backend.cache.stats(NODES)[0] == 2


def test_watch_failures_while_reconnecting_are_retried(seeded: Seeded, backend: KubernetesBackend) -> None:
    assert backend.cache.wait_until(lambda: backend.cache.stats(NODES)[1] == 1)
    rule = seeded.emulator.fail(r"GET /api/v1/nodes\?.*watch=true", 503, times=6)
    seeded.emulator.drop_watches("/api/v1/nodes")
    seeded.emulator.put(o.node("after-outage"))
    # six back-offs before the watch comes back: generous for a loaded CI machine
    assert backend.cache.wait_until(lambda: "after-outage" in _names(backend, NODES), timeout_s=30)
    assert rule.hits == 6


def test_workload_and_node_status(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    pod = seeded.web_pods[0]
    pod["status"]["conditions"][1]["status"] = "False"
    pod["status"]["containerStatuses"][0]["restartCount"] = 4
    em.store.update(em.type_of("Pod"), "shop", pod["metadata"]["name"], lambda _p: pod, subresource="status")
    em.store.patch(em.type_of("Node"), "", "node-a", {"spec": {"unschedulable": True}}, strategic=False)
    assert backend.cache.wait_until(
        lambda: (
            backend.snapshot().workloads["shop/Deployment/web"].ready == 2
            and not backend.snapshot().nodes["Node/node-a"].schedulable
        )
    )
    state = backend.snapshot()
    web = state.workloads["shop/Deployment/web"]
    assert (web.desired, web.ready, web.restarts) == (3, 2, 4)
    assert web.pods_by_node == (("node-a", 2), ("node-b", 1))
    assert state.workloads["ml/Job/train"].pods_by_node == (("gpu-1", 2),)
    assert state.workloads["shop/StatefulSet/db"].desired == 2
    assert state.nodes["Node/gpu-1"].gpus_allocatable == 4
    assert not state.nodes["Node/node-a"].schedulable and state.nodes["Node/node-b"].schedulable
    assert state.spec.name == "test" and {w.key for w in state.spec.workloads} == set(state.workloads)
    # the topology comes from the digital twin, fed the cached objects
    assert [p.name for p in state.spec.pdbs] == ["web"] and state.spec.hpas[0].target == "shop/Deployment/web"
    assert [s.key for s in state.spec.services] == ["shop/Service/web"] and state.spec.notes == ()


def test_pending_pods_and_not_ready_nodes(k8s_emulator: object) -> None:
    from tests.agent.backends.kubernetes.conftest import fast_api

    em = k8s_emulator
    em.put(o.node("down", ready=False))  # type: ignore[attr-defined]
    o.seed_workload(em, o.deployment("web", replicas=2), [])  # type: ignore[arg-type]
    b = KubernetesBackend(fast_api(em))  # type: ignore[arg-type]
    b.start(timeout_s=10)
    try:
        state = b.snapshot()
        assert not state.nodes["Node/down"].ready
        assert state.workloads["default/Deployment/web"].pending == 2
    finally:
        b.close()


def test_rollout_in_progress() -> None:
    steady = {**o.deployment("web"), "metadata": {"name": "web", "generation": 1}}
    assert not rollout_in_progress(steady)
    assert rollout_in_progress({**o.deployment("web", rolling=True), "metadata": {"generation": 1}})
    assert rollout_in_progress({**steady, "metadata": {"generation": 2}})
    sts = {**o.statefulset("db"), "metadata": {"generation": 1}}
    assert not rollout_in_progress(sts)
    sts["status"] = {**sts["status"], "updateRevision": "db-2"}
    assert rollout_in_progress(sts)


def test_cache_ignores_resources_it_does_not_keep(seeded: Seeded, backend: KubernetesBackend) -> None:
    backend.api.create(LEASES, {"metadata": {"name": "x"}, "spec": {}}, namespace="shop")
    backend.api.create(CONFIGMAPS, {"metadata": {"name": "y"}}, namespace="shop")
    assert backend.cache.wait_until(lambda: any(o["kind"] == "ConfigMap" for o in backend.cache.objects()))
    assert all(obj["kind"] != "Lease" for obj in backend.cache.objects())


def test_a_forbidden_resource_fails_start_at_once_with_a_hint(seeded: Seeded) -> None:
    from tests.agent.backends.kubernetes.conftest import fast_api

    seeded.emulator.fail(r"GET /apis/policy/v1/poddisruptionbudgets", 403, times=100)
    b = KubernetesBackend(fast_api(seeded.emulator))
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"poddisruptionbudgets.*403.*RBAC"):
        b.start(timeout_s=20)
    assert time.monotonic() - started < 5


def test_workloads_the_twin_models_from_other_objects_get_a_status(k8s_emulator: object) -> None:
    from tests.agent.backends.kubernetes.conftest import fast_api

    em = k8s_emulator
    em.put(o.node("n"))  # type: ignore[attr-defined]
    template = o.job("nightly", namespace="ml")["spec"]
    job_template = {"spec": {k: v for k, v in template.items() if k != "selector"}}
    em.put(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",  # type: ignore[attr-defined]
            "metadata": {"name": "nightly", "namespace": "ml"},
            "spec": {"schedule": "0 * * * *", "jobTemplate": job_template},
        }
    )
    b = KubernetesBackend(fast_api(em))  # type: ignore[arg-type]
    b.start(timeout_s=10)
    try:
        state = b.snapshot()
        assert set(state.workloads) == {w.key for w in state.spec.workloads} == {"ml/Job/nightly"}
        assert (state.workloads["ml/Job/nightly"].desired, state.workloads["ml/Job/nightly"].ready) == (1, 0)
    finally:
        b.close()


def test_connect_from_a_kubeconfig_context(seeded: Seeded, tmp_path: object) -> None:
    from pathlib import Path

    import yaml

    from agent.config.cluster import KubernetesCluster

    path = Path(str(tmp_path)) / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "emu",
                "clusters": [{"name": "emu", "cluster": {"server": seeded.emulator.url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "u"}}],
            }
        )
    )
    b = KubernetesBackend.connect(KubernetesCluster(kubeconfig=path, context="emu", pod_grace_period_s=7))
    b.start(timeout_s=10)
    try:
        assert len(b.snapshot().nodes) == 3 and b.ctx.pod_grace_period_s == 7
    finally:
        b.close()


def test_snapshot_before_start_says_what_to_do(seeded: Seeded) -> None:
    from tests.agent.backends.kubernetes.conftest import fast_api

    with pytest.raises(BackendError, match=r"start\(\) first"):
        KubernetesBackend(fast_api(seeded.emulator)).snapshot()
