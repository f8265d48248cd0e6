"""Who calls whom, how often and how fast, from the service-graph metrics a mesh or tracing pipeline keeps.

Three sources, each read when its metrics are present, over one window (``WINDOW_S``):

- Istio: ``istio_requests_total`` and ``istio_request_duration_milliseconds_bucket``, the destination
  proxy's view (``reporter="destination"``, the source proxy's where only that exists): source workload
  and namespace to destination Service.
- Linkerd: ``response_total`` and ``response_latency_ms_bucket`` of outbound traffic: the source pod's
  ``deployment``/``statefulset`` and ``namespace`` to ``dst_service`` in ``dst_namespace``.
- OpenTelemetry Collector's servicegraph connector: ``traces_service_graph_request_total`` (and
  ``_failed_total``) with ``traces_service_graph_request_server_seconds_bucket`` (older collectors:
  ``..._request_duration_seconds_bucket``): ``client`` service to ``server`` service, namespaces when
  ``service.namespace`` is a dimension.

The queries are constants (the window is a checked duration); every label value read back must be a
Kubernetes name (DNS-1123) before it is used, and a series with one that is not is skipped and counted.
The result is plain ``envs.twin.telemetry.ObservedCall`` records: the twin owns no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from agent.prometheus.client import PrometheusClient, Sample
from agent.prometheus.promql import duration
from envs.twin.telemetry import ObservedCall

WINDOW_S = 3600.0
"""Rates and latencies are averaged over the last hour: long enough to smooth a traffic curve's minutes,
short enough to be today's service graph."""
OUTSIDE_SOURCES = frozenset({"", "unknown", "user"})
"""Source names that mean a client outside the mesh (Istio's and OpenTelemetry's placeholders)."""
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Mesh:
    """How one source's metrics name the ends of an edge."""

    name: str
    requests: str
    errors: str
    latency: tuple[str, ...]
    """Quantile queries, tried in order (older metric names later)."""
    latency_scale_ms: float
    source: Callable[[Mapping[str, str]], tuple[str, str]]
    dest: Callable[[Mapping[str, str]], tuple[str, str]]


def _istio_source(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("source_workload_namespace", ""), labels.get("source_workload", "")


def _istio_dest(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("destination_service_namespace", ""), labels.get("destination_service_name", "")


def _linkerd_source(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("namespace", ""), labels.get("deployment") or labels.get("statefulset") or labels.get(
        "daemonset", "")


def _linkerd_dest(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("dst_namespace", ""), labels.get("dst_service", "")


def _otel_source(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("client_service_namespace", ""), labels.get("client", "")


def _otel_dest(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("server_service_namespace", ""), labels.get("server", "")


_ISTIO_BY = "reporter, source_workload, source_workload_namespace, destination_service_name, " \
            "destination_service_namespace"
_LINKERD_BY = "namespace, deployment, statefulset, daemonset, dst_namespace, dst_service"
_OTEL_BY = "client, server, client_service_namespace, server_service_namespace"

MESHES: tuple[Mesh, ...] = (
    Mesh("istio_requests_total",
         f"sum by ({_ISTIO_BY}) (rate(istio_requests_total[$w]))",
         f'sum by ({_ISTIO_BY}) (rate(istio_requests_total{{response_code=~"5.."}}[$w]))',
         (f"histogram_quantile(0.99, sum by (le, {_ISTIO_BY}) "
          "(rate(istio_request_duration_milliseconds_bucket[$w])))",), 1.0, _istio_source, _istio_dest),
    Mesh("response_total",
         f'sum by ({_LINKERD_BY}) (rate(response_total{{direction="outbound"}}[$w]))',
         f'sum by ({_LINKERD_BY}) (rate(response_total{{direction="outbound",classification="failure"}}[$w]))',
         (f'histogram_quantile(0.99, sum by (le, {_LINKERD_BY}) '
          '(rate(response_latency_ms_bucket{direction="outbound"}[$w])))',), 1.0, _linkerd_source, _linkerd_dest),
    Mesh("traces_service_graph_request_total",
         f"sum by ({_OTEL_BY}) (rate(traces_service_graph_request_total[$w]))",
         f"sum by ({_OTEL_BY}) (rate(traces_service_graph_request_failed_total[$w]))",
         (f"histogram_quantile(0.99, sum by (le, {_OTEL_BY}) "
          "(rate(traces_service_graph_request_server_seconds_bucket[$w])))",
          f"histogram_quantile(0.99, sum by (le, {_OTEL_BY}) "
          "(rate(traces_service_graph_request_duration_seconds_bucket[$w])))"), 1000.0, _otel_source, _otel_dest),
)


@dataclass(frozen=True)
class ServiceGraph:
    calls: tuple[ObservedCall, ...]
    skipped: int
    """Series dropped because a label value was not a Kubernetes name."""
    sources: tuple[str, ...]
    """The metrics that had any edge."""


def _name(value: str) -> str | None:
    """A label value usable as a Kubernetes name, or None. Outside-the-mesh placeholders read as ""."""
    if value in OUTSIDE_SOURCES:
        return ""
    return value if len(value) <= 253 and _NAME.match(value) else None


Key = tuple[str, str, str, str]


def _by_edge(samples: Iterable[Sample], mesh: Mesh) -> tuple[dict[Key, float], int]:
    """Values per (source ns, source, dest ns, dest); Istio's destination reporter wins over its source one."""
    out: dict[Key, float] = {}
    reporter: dict[Key, str] = {}
    skipped = 0
    for s in samples:
        (sns, src), (dns, dst) = mesh.source(s.labels), mesh.dest(s.labels)
        names = [_name(v) for v in (sns, src, dns, dst)]
        if any(n is None for n in names) or not names[3]:
            skipped += 1
            continue
        key: Key = (names[0] or "", names[1] or "", names[2] or "", names[3] or "")
        rep = s.labels.get("reporter", "")
        if key in out and reporter[key] == "destination" and rep != "destination":
            continue
        if key in out and rep == reporter[key]:
            out[key] += s.value
        else:
            out[key] = s.value
        reporter[key] = rep
    return out, skipped


def read_service_graph(client: PrometheusClient, *, at: float | None = None, window_s: float = WINDOW_S
                       ) -> ServiceGraph:
    """Every edge the three sources show over the window ending ``at`` (now when None)."""
    window = duration(window_s)
    calls: list[ObservedCall] = []
    skipped = 0
    sources = []
    for mesh in MESHES:
        rates, bad = _by_edge(client.instant(mesh.requests.replace("$w", window), at=at), mesh)
        skipped += bad
        rates = {k: v for k, v in rates.items() if v > 0 and math.isfinite(v)}
        if not rates:
            continue
        sources.append(mesh.name)
        errors, _ = _by_edge(client.instant(mesh.errors.replace("$w", window), at=at), mesh)
        p99: dict[Key, float] = {}
        for query in mesh.latency:
            p99, _ = _by_edge((s for s in client.instant(query.replace("$w", window), at=at)
                               if math.isfinite(s.value)), mesh)
            if p99:
                break
        for key, rps in sorted(rates.items()):
            latency = p99.get(key)
            calls.append(ObservedCall(
                source_namespace=key[0], source=key[1], dest_namespace=key[2], dest=key[3], rps=rps,
                p99_ms=None if latency is None else round(latency * mesh.latency_scale_ms, 3),
                error_ratio=min(1.0, errors.get(key, 0.0) / rps), origin=mesh.name))
    return ServiceGraph(tuple(calls), skipped, tuple(sources))
