"""Synthetic service-graph metrics as Istio, Linkerd and the OpenTelemetry servicegraph connector export them,
for backfilling a real Prometheus: cumulative counters and latency histograms, one point per scrape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tests.servers.prometheus import Sample

STEP_S = 15.0


@dataclass(frozen=True)
class GraphEdge:
    """One edge's traffic: rates in requests per second, latency in milliseconds (log-normal, sigma 0.5)."""

    source_ns: str
    source: str
    dest_ns: str
    dest: str
    rps: float
    p99_ms: float = 50.0
    error_ratio: float = 0.0


def _buckets_ms() -> list[float]:
    return [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]


def _share_below(le_ms: float, p99_ms: float) -> float:
    import math

    median = p99_ms / math.exp(2.3263478740408408 * 0.5)
    z = (math.log(le_ms) - math.log(median)) / 0.5
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _series(times: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    noisy = np.clip(rate * (1 + rng.normal(0, 0.02, len(times))), 0, None)
    return np.cumsum(noisy * STEP_S)


def istio_history(edges: Sequence[GraphEdge], t_end: float, *, span_s: float = 3900.0, seed: int = 3,
                  reporters: Sequence[str] = ("destination",)) -> list[Sample]:
    rng = np.random.default_rng(seed)
    times = np.arange(t_end - span_s, t_end + 0.001, STEP_S)
    out: list[Sample] = []
    for e in edges:
        for reporter in reporters:
            base = {"reporter": reporter, "source_workload": e.source, "source_workload_namespace": e.source_ns,
                    "destination_service_name": e.dest, "destination_service_namespace": e.dest_ns,
                    "destination_service": f"{e.dest}.{e.dest_ns}.svc.cluster.local"}
            for code, share in (("200", 1 - e.error_ratio), ("503", e.error_ratio)):
                if share > 0:
                    values = _series(times, e.rps * share, rng)
                    out.extend(Sample("istio_requests_total", {**base, "response_code": code}, float(v), float(t))
                               for t, v in zip(times, values, strict=True))
            total = _series(times, e.rps, rng)
            for le in [*_buckets_ms(), float("inf")]:
                share = 1.0 if le == float("inf") else _share_below(le, e.p99_ms)
                out.extend(Sample("istio_request_duration_milliseconds_bucket",
                                  {**base, "le": "+Inf" if le == float("inf") else f"{le:g}"}, float(v * share),
                                  float(t)) for t, v in zip(times, total, strict=True))
    return out


def linkerd_history(edges: Sequence[GraphEdge], t_end: float, *, span_s: float = 3900.0, seed: int = 4
                    ) -> list[Sample]:
    rng = np.random.default_rng(seed)
    times = np.arange(t_end - span_s, t_end + 0.001, STEP_S)
    out: list[Sample] = []
    for e in edges:
        base = {"direction": "outbound", "namespace": e.source_ns, "deployment": e.source, "dst_namespace": e.dest_ns,
                "dst_service": e.dest}
        for cls, share in (("success", 1 - e.error_ratio), ("failure", e.error_ratio)):
            if share > 0:
                values = _series(times, e.rps * share, rng)
                out.extend(Sample("response_total", {**base, "classification": cls}, float(v), float(t))
                           for t, v in zip(times, values, strict=True))
        total = _series(times, e.rps, rng)
        for le in [*_buckets_ms(), float("inf")]:
            share = 1.0 if le == float("inf") else _share_below(le, e.p99_ms)
            out.extend(Sample("response_latency_ms_bucket", {**base, "le": "+Inf" if le == float("inf") else f"{le:g}"},
                              float(v * share), float(t)) for t, v in zip(times, total, strict=True))
    return out


def otel_history(edges: Sequence[GraphEdge], t_end: float, *, span_s: float = 3900.0, seed: int = 5
                 ) -> list[Sample]:
    """The servicegraph connector: client/server service names, no namespaces, latency in seconds."""
    rng = np.random.default_rng(seed)
    times = np.arange(t_end - span_s, t_end + 0.001, STEP_S)
    out: list[Sample] = []
    for e in edges:
        base = {"client": e.source or "user", "server": e.dest, "connection_type": ""}
        values = _series(times, e.rps, rng)
        out.extend(Sample("traces_service_graph_request_total", base, float(v), float(t))
                   for t, v in zip(times, values, strict=True))
        if e.error_ratio:
            failed = _series(times, e.rps * e.error_ratio, rng)
            out.extend(Sample("traces_service_graph_request_failed_total", base, float(v), float(t))
                       for t, v in zip(times, failed, strict=True))
        for le in [*_buckets_ms(), float("inf")]:
            share = 1.0 if le == float("inf") else _share_below(le, e.p99_ms)
            out.extend(Sample("traces_service_graph_request_server_seconds_bucket",
                              {**base, "le": "+Inf" if le == float("inf") else f"{le / 1000:g}"},
                              float(v * share), float(t)) for t, v in zip(times, values, strict=True))
    return out
