"""The scale benchmark at a small size, so it cannot rot: the recorded cluster is served page by page,
and the daemon's path sees every object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.state import twin_spec_builder
from benchmarks.cluster_gen import ClusterPages, cluster_pages
from benchmarks.scale_snapshot import STAGES, RecordedApiClient, _guard, agent_path, memory_of, run
from envs.profile import backing_map
from envs.verdict import backing_workloads

NODES, PODS, PAGE = 8, 200, 40


@pytest.fixture(scope="module")
def pages() -> ClusterPages:
    return cluster_pages(nodes=NODES, pods=PODS, seed=3, page_size=PAGE)


def _items(pages: ClusterPages, plural: str) -> list[dict[str, Any]]:
    return [item for page in pages.pages[plural] for item in json.loads(page)["items"]]


def test_the_generator_is_deterministic_and_pages_like_the_api_server(pages: ClusterPages) -> None:
    assert cluster_pages(nodes=NODES, pods=PODS, seed=3, page_size=PAGE).pages == pages.pages
    assert cluster_pages(nodes=NODES, pods=PODS, seed=4, page_size=PAGE).pages != pages.pages
    assert pages.counts["nodes"] == NODES and pages.counts["pods"] == PODS
    first, last = json.loads(pages.pages["pods"][0]), json.loads(pages.pages["pods"][-1])
    assert len(first["items"]) == PAGE and first["metadata"]["continue"]
    assert "continue" not in last["metadata"]
    pod = first["items"][0]
    assert "kind" not in pod and pod["metadata"]["ownerReferences"] and pod["status"]["conditions"]


def test_the_daemon_path_sees_every_object_through_the_pages(pages: ClusterPages) -> None:
    result = agent_path(pages, _guard())
    workloads = sum(pages.counts[p] for p in ("deployments", "statefulsets", "jobs"))
    assert result.targets == workloads + NODES  # every workload and node made it through paging
    assert set(result.seconds) == set(STAGES) and result.allowed > 0


def test_workload_status_counts_the_generated_pods(pages: ClusterPages) -> None:
    backend = KubernetesBackend(KubeApi(RecordedApiClient(pages), page_size=PAGE))
    try:
        backend.start(timeout_s=30)
        state = backend.snapshot()
    finally:
        backend.close()
    pods = _items(pages, "pods")
    placed = [p for p in pods if p["metadata"]["ownerReferences"][0]["kind"] != "DaemonSet"
              and "nodeName" in p["spec"]]
    assert sum(c for s in state.workloads.values() for _, c in s.pods_by_node) == len(placed)
    assert len(state.nodes) == NODES


def test_backing_map_matches_backing_workloads(pages: ClusterPages) -> None:
    objects = [dict(o, kind=kind) for plural, kind in (("pods", "Pod"), ("deployments", "Deployment"),
                                                       ("statefulsets", "StatefulSet"), ("services", "Service"))
               for o in _items(pages, plural)]
    spec = twin_spec_builder(objects, "smoke")
    assert spec.services
    assert backing_map(spec) == {s.key: backing_workloads(spec, s) for s in spec.services}


def test_the_report_and_the_memory_probe_run(pages: ClusterPages, tmp_path: Path) -> None:
    report = run(pages, repeat=1)
    assert report["parse_s"] > 0 and report["ratio_to_parse"] > 0
    assert set(report["stages_s"]) == set(STAGES)
    pages.save(tmp_path)
    assert ClusterPages.load(tmp_path).pages == pages.pages
    memory = memory_of("agent", tmp_path)
    assert memory["daemon_peak_mb"] >= memory["imports_mb"] > 0

