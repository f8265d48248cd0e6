"""The robust score, series-to-target mapping and per-target combination, without a server."""

from __future__ import annotations

import math

import pytest

from agent.prometheus.anomaly import per_target_points, robust_score
from agent.prometheus.client import Series
from agent.prometheus.signals import SIGNALS, resolve
from agent.prometheus.targets import TargetIndex
from envs.spec import ClusterSpec

SIGNAL = {s.name: s for s in SIGNALS}


def test_robust_score_uses_median_and_scaled_mad() -> None:
    baseline = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0]  # median 10, MAD 1
    assert robust_score(baseline, [13.0], direction="up", abs_floor=0.01) == pytest.approx(3 / 1.4826)
    assert robust_score(baseline, [7.0], direction="up", abs_floor=0.01) == 0.0
    assert robust_score(baseline, [7.0], direction="down", abs_floor=0.01) == pytest.approx(3 / 1.4826)
    assert robust_score(baseline, [7.0], direction="both", abs_floor=0.01) == pytest.approx(3 / 1.4826)


def test_outliers_in_the_baseline_do_not_hide_a_fault() -> None:
    baseline = [0.0] * 50 + [100.0, 100.0]  # two spikes: a mean/stddev score would shrug at 5
    assert robust_score(baseline, [5.0], direction="up", abs_floor=0.5) == pytest.approx(10.0)


def test_flat_baseline_uses_the_floor_and_the_cap() -> None:
    assert robust_score([1.0] * 10, [0.0], direction="down", abs_floor=0.25) == pytest.approx(4.0)
    assert robust_score([100.0] * 10, [110.0], direction="up", abs_floor=0.01, rel_floor=0.05) == (
        pytest.approx(2.0))
    assert robust_score([0.0] * 10, [1e9], direction="up", abs_floor=0.01, cap=20) == 20.0
    assert robust_score([1.0] * 10, [1.0], direction="both", abs_floor=0.01) == 0.0


def test_current_window_median_ignores_one_spike() -> None:
    assert robust_score([1.0] * 10, [1.0, 1.0, 50.0], direction="up", abs_floor=0.1) == 0.0


def test_no_evidence_is_none_and_non_finite_points_are_dropped() -> None:
    assert robust_score([], [1.0], direction="up", abs_floor=1) is None
    assert robust_score([1.0], [], direction="up", abs_floor=1) is None
    assert robust_score([math.inf, 1.0], [math.inf], direction="up", abs_floor=1) is None


def test_pods_map_to_their_workload_by_controller_naming(cluster: ClusterSpec) -> None:
    index = TargetIndex.from_spec(cluster)
    assert index.workload_of_pod("shop", "web-7d9f8b6c5-x2k4p") == "shop/Deployment/web"
    assert index.workload_of_pod("shop", "web-api-5c6d7f8b9-a1b2c") == "shop/Deployment/web-api"
    assert index.workload_of_pod("shop", "web-api-0") == "shop/Deployment/web-api"  # fallback: longest
    assert index.workload_of_pod("shop", "db-1") == "shop/StatefulSet/db"
    assert index.workload_of_pod("ml", "train-w6x7z") == "ml/Job/train"
    assert index.workload_of_pod("ml", "web-7d9f8b6c5-x2k4p") is None  # other namespace
    assert index.workload_of_pod("shop", "cache-0") is None


def test_services_map_to_the_workloads_their_selector_picks(cluster: ClusterSpec) -> None:
    index = TargetIndex.from_spec(cluster)
    labels = {"namespace": "shop", "service": "web-api", "code": "503"}
    assert resolve(SIGNAL["error_ratio"], labels, index) == ("shop/Deployment/web-api",)
    assert resolve(SIGNAL["error_ratio"], {"namespace": "shop", "service": "nope"}, index) == ()


def test_label_named_targets(cluster: ClusterSpec) -> None:
    index = TargetIndex.from_spec(cluster)
    assert resolve(SIGNAL["model_accuracy"], {"namespace": "ml", "model": "ranker"}, index) == (
        "ml/Deployment/ranker",)
    # Scraped by Prometheus, the exporter's job label becomes exported_job.
    scraped = {"namespace": "ml", "job": "cluster", "exported_job": "train"}
    assert resolve(SIGNAL["training_progress_lost"], scraped, index) == ("ml/Job/train",)
    assert resolve(SIGNAL["gpu_xid_errors"], {"Hostname": "gpu-1"}, index) == ("Node/gpu-1",)
    assert resolve(SIGNAL["node_not_ready"], {"node": "elsewhere"}, index) == ()


def test_series_of_one_workload_are_summed_per_timestamp(cluster: ClusterSpec) -> None:
    index = TargetIndex.from_spec(cluster)
    series = [
        Series({"namespace": "shop", "pod": "web-7d9f8b6c5-x2k4p"}, ((0.0, 1.0), (15.0, 1.0))),
        Series({"namespace": "shop", "pod": "web-7d9f8b6c5-q8r5t"}, ((15.0, 1.0), (30.0, 2.0))),
        Series({"namespace": "shop", "pod": "unknown-pod"}, ((0.0, 9.0),)),
    ]
    assert per_target_points(SIGNAL["unready_pods"], series, index) == {
        "shop/Deployment/web": {0.0: 1.0, 15.0: 2.0, 30.0: 2.0}}
    assert per_target_points(SIGNAL["statefulset_ready"], [
        Series({"namespace": "shop", "statefulset": "db"}, ((0.0, 1.0),)),
        Series({"namespace": "shop", "statefulset": "db"}, ((0.0, 3.0),)),
    ], index) == {"shop/StatefulSet/db": {0.0: 3.0}}
