"""Calls seen in telemetry (service-graph metrics of a mesh or a tracing pipeline), joined to the input.

Services that find each other by hostnames written in code have no call graph in their manifests; the
requests they send each other show in Istio's, Linkerd's or the OpenTelemetry service-graph connector's
metrics. ``ObservedCall`` is one such edge as plain data (``agent.prometheus.service_graph`` reads them;
the twin owns no I/O). Joined to the input, an edge from a modelled workload to a modelled Service becomes
a call (with its measured calls per request), requests from outside the input make the Service an entry
point with the measured load, and measured latencies set Services' own latency.

Sources are named by workload (Istio ``source_workload``, Linkerd ``deployment``/``statefulset``) or by
service name (OpenTelemetry ``client``); destinations by Service (Istio ``destination_service_name``,
Linkerd ``dst_service``) or service name. A name matches a workload or Service of the same name in the
given namespace, or, without a namespace, the only one of that name in the input; anything else is from
outside the input (a browser, a load balancer, an ingress gateway, another cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OUTSIDE = "outside"


@dataclass(frozen=True)
class ObservedCall:
    """Requests per second from a source to a destination, as a service-graph metric shows them."""

    source_namespace: str
    """"" when the metric does not say (OpenTelemetry without service.namespace)."""
    source: str
    """A workload name or a service name; "" or "unknown" for a client outside the mesh."""
    dest_namespace: str
    dest: str
    """A Service name (or, OpenTelemetry, a service name)."""
    rps: float
    p99_ms: float | None = None
    error_ratio: float | None = None
    origin: str = ""
    """The metric it came from (``istio_requests_total`` ...)."""


@dataclass(frozen=True)
class Edge:
    """An observed call joined to the input."""

    caller: str | None
    """Workload key; None: from outside the input."""
    service: tuple[str, str]
    rps: float
    p99_ms: float | None
    origin: str


def _index(names: Iterable[tuple[str, str]]) -> tuple[set[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    exact = set(names)
    by_name: dict[str, list[tuple[str, str]]] = {}
    for ns, name in sorted(exact):
        by_name.setdefault(name, []).append((ns, name))
    return exact, by_name


def _match(namespace: str, name: str, exact: set[tuple[str, str]],
           by_name: Mapping[str, list[tuple[str, str]]]) -> tuple[str, str] | None:
    if namespace:
        return (namespace, name) if (namespace, name) in exact else None
    hits = by_name.get(name, [])
    return hits[0] if len(hits) == 1 else None


def join(observed: Iterable[ObservedCall], workloads: Mapping[tuple[str, str], str],
         services: Iterable[tuple[str, str]], service_of: Mapping[tuple[str, str], tuple[str, str]],
         ) -> tuple[list[Edge], list[str]]:
    """Edges between the input's workloads and Services, and one note per edge that could not be placed.

    ``workloads``: (namespace, name) -> workload key. ``service_of``: a workload's (namespace, name) -> the
    Service selecting it, for destinations named by service name that match a workload (OpenTelemetry).
    """
    w_exact, w_by_name = _index(workloads)
    s_exact, s_by_name = _index(services)
    summed: dict[tuple[str | None, tuple[str, str], str], Edge] = {}
    notes: list[str] = []
    for o in observed:
        if o.rps <= 0:
            continue
        dest = _match(o.dest_namespace, o.dest, s_exact, s_by_name)
        if dest is None:
            by_workload = _match(o.dest_namespace, o.dest, w_exact, w_by_name)
            dest = service_of.get(by_workload) if by_workload is not None else None
        if dest is None:
            where = f"{o.dest_namespace}/{o.dest}" if o.dest_namespace else o.dest
            notes.append(f"{o.origin}: calls to {where} ({o.rps:.3g} rps) reach no Service in the input (ignored)")
            continue
        src = None
        if o.source and o.source != "unknown":
            found = _match(o.source_namespace, o.source, w_exact, w_by_name)
            if found is None and not o.source_namespace:
                svc = _match("", o.source, s_exact, s_by_name)  # OpenTelemetry: the client is a service name
                found = next((w for w, s in service_of.items() if s == svc), None) if svc else None
            src = workloads.get(found) if found is not None else None
        key = (src, dest, o.origin)
        old = summed.get(key)  # several outside clients of one metric add up
        summed[key] = Edge(src, dest, o.rps + (old.rps if old else 0.0), _worse(old.p99_ms if old else None, o.p99_ms),
                           o.origin)
    merged: dict[tuple[str | None, tuple[str, str]], Edge] = {}
    for (src, dest, _), edge in sorted(summed.items(), key=lambda kv: (kv[0][0] or "", kv[0][1], kv[0][2])):
        old = merged.get((src, dest))  # the same edge in two metrics: the larger rate, the worse latency
        merged[(src, dest)] = edge if old is None else Edge(src, dest, max(old.rps, edge.rps),
                                                           _worse(old.p99_ms, edge.p99_ms), old.origin)
    return [merged[k] for k in sorted(merged, key=lambda k: (k[0] or "", k[1]))], notes


def _worse(a: float | None, b: float | None) -> float | None:
    return max((x for x in (a, b) if x is not None), default=None)


@dataclass(frozen=True)
class Observations:
    """What the joined edges say, in the builder's terms."""

    calls: dict[str, dict[tuple[str, str], tuple[float, str]]]
    """Workload key -> Service ref -> (calls per request the workload serves, the metric)."""
    external: dict[tuple[str, str], tuple[float, str]]
    """Service ref -> (requests per second from outside the input, the metric)."""
    own_latency_ms: dict[tuple[str, str], tuple[float, str]]
    """Service ref -> (its p99 less the p99s of the calls its workloads make, the metric)."""


def observations(edges: Iterable[Edge], behind: Mapping[tuple[str, str], list[str]]) -> Observations:
    """Calls per request, outside load and own latency from the edges. ``behind``: Service ref -> workload keys.

    A workload's requests are what reaches the Services that select it; a workload nothing calls (a load
    generator, a cron) makes each observed call once per request it serves, as an unobserved call would.
    """
    edges = list(edges)
    incoming: dict[str, float] = {}
    into: dict[tuple[str, str], float] = {}
    p99_in: dict[tuple[str, str], float] = {}
    for e in edges:
        into[e.service] = into.get(e.service, 0.0) + e.rps
        if e.p99_ms is not None:
            p99_in[e.service] = max(p99_in.get(e.service, 0.0), e.p99_ms)
    for ref, rps in into.items():
        for key in behind.get(ref, ()):
            incoming[key] = incoming.get(key, 0.0) + rps
    calls: dict[str, dict[tuple[str, str], tuple[float, str]]] = {}
    out_p99: dict[str, float] = {}
    external: dict[tuple[str, str], tuple[float, str]] = {}
    for e in edges:
        if e.caller is None:
            rps, _ = external.get(e.service, (0.0, e.origin))
            external[e.service] = (rps + e.rps, e.origin)
            continue
        served = incoming.get(e.caller, 0.0)
        calls.setdefault(e.caller, {})[e.service] = (e.rps / served if served > 0 else 1.0, e.origin)
        if e.p99_ms is not None:
            out_p99[e.caller] = out_p99.get(e.caller, 0.0) + e.p99_ms
    own: dict[tuple[str, str], tuple[float, str]] = {}
    origin = {e.service: e.origin for e in edges}
    for ref, p99 in p99_in.items():
        downstream = max((out_p99.get(k, 0.0) for k in behind.get(ref, ())), default=0.0)
        own[ref] = (max(1.0, float(f"{p99 - downstream:.2g}")), origin[ref])  # two digits, as measured
    return Observations(calls, external, own)
