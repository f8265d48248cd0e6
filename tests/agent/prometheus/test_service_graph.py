"""Service-graph metrics read from a real Prometheus (promtool-backfilled): Istio, Linkerd, OpenTelemetry."""

from __future__ import annotations

import time

import pytest

from agent.prometheus.client import PrometheusClient
from agent.prometheus.retry import RetryPolicy
from agent.prometheus.service_graph import ServiceGraph, read_service_graph
from envs.twin import ObservedCall
from tests.agent.prometheus.service_graph_history import GraphEdge, istio_history, linkerd_history, otel_history
from tests.servers.prometheus import PrometheusFactory, Sample

EDGES = (
    GraphEdge("shop", "frontend", "shop", "cart", rps=20.0, p99_ms=40.0),
    GraphEdge("shop", "cart", "shop", "redis-cart", rps=60.0, p99_ms=5.0),
    GraphEdge("shop", "frontend", "shop", "catalog", rps=10.0, p99_ms=120.0, error_ratio=0.1),
)
OUTSIDE = GraphEdge("", "unknown", "shop", "frontend", rps=10.0, p99_ms=250.0)


def client_for(url: str) -> PrometheusClient:
    return PrometheusClient(url=url, timeout_s=5.0, retry=RetryPolicy(attempts=1))


def edges_of(graph: ServiceGraph) -> dict[tuple[str, str, str, str], ObservedCall]:
    return {(c.source_namespace, c.source, c.dest_namespace, c.dest): c for c in graph.calls}


def test_istio_edges_rates_latencies_and_errors(prometheus_factory: PrometheusFactory) -> None:
    now = time.time()
    server = prometheus_factory(history=istio_history((*EDGES, OUTSIDE), now - 60,
                                                      reporters=("destination", "source")))
    graph = read_service_graph(client_for(server.url), at=now - 60)
    assert graph.sources == ("istio_requests_total",) and graph.skipped == 0
    got = edges_of(graph)
    cart = got[("shop", "frontend", "shop", "cart")]
    assert cart.rps == pytest.approx(20.0, rel=0.05)
    assert cart.p99_ms is not None and 25.0 < cart.p99_ms <= 50.0  # 40 ms, interpolated in its bucket
    catalog = got[("shop", "frontend", "shop", "catalog")]
    assert catalog.error_ratio == pytest.approx(0.1, abs=0.02)
    outside = got[("", "", "shop", "frontend")]  # Istio's "unknown" source: a client outside the mesh
    assert outside.rps == pytest.approx(10.0, rel=0.05)
    assert len(graph.calls) == 4  # the source reporter's duplicates are not counted twice


def test_linkerd_and_opentelemetry_edges(prometheus_factory: PrometheusFactory) -> None:
    now = time.time()
    server = prometheus_factory(history=linkerd_history(EDGES[:2], now - 60) + otel_history(
        (EDGES[2], OUTSIDE), now - 60))
    graph = read_service_graph(client_for(server.url), at=now - 60)
    assert set(graph.sources) == {"response_total", "traces_service_graph_request_total"}
    got = edges_of(graph)
    redis = got[("shop", "cart", "shop", "redis-cart")]
    assert redis.rps == pytest.approx(60.0, rel=0.05) and redis.origin == "response_total"
    otel = got[("", "frontend", "", "catalog")]  # service names, no namespace
    assert otel.p99_ms is not None and 100.0 < otel.p99_ms <= 250.0  # 120 ms; seconds read as milliseconds
    assert otel.origin == "traces_service_graph_request_total"
    assert otel.error_ratio == pytest.approx(0.1, abs=0.02)
    assert got[("", "", "", "frontend")].rps == pytest.approx(10.0, rel=0.05)  # "user"


def test_label_values_that_are_not_kubernetes_names_are_skipped(prometheus_factory: PrometheusFactory) -> None:
    now = time.time()
    evil = GraphEdge("shop", 'x"}) or vector(1) #', "shop", "cart", rps=5.0)
    server = prometheus_factory(history=istio_history((EDGES[0], evil), now - 60))
    graph = read_service_graph(client_for(server.url), at=now - 60)
    assert graph.skipped >= 1
    assert [c.source for c in graph.calls] == ["frontend"]


def test_no_service_graph_metrics_means_no_edges(prometheus_factory: PrometheusFactory) -> None:
    now = time.time()
    server = prometheus_factory(history=[Sample("up", {"job": "x"}, 1.0, now - 60)])
    graph = read_service_graph(client_for(server.url), at=now - 60)
    assert graph.calls == () and graph.sources == ()
