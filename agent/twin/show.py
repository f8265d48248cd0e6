"""``chaos-agent twin show``: the twin's entry points and their clients, its call graph, the load each Service
carries at baseline, and its datastores, as a person reads them."""

from __future__ import annotations

import math

from envs.profile import backing_map
from envs.spec import CALLS_ANNOTATION, ClusterSpec, Workload
from envs.twin.load import baseline_load


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def _call_sources(spec: ClusterSpec) -> dict[str, str]:
    return {f"{i.namespace}/{i.kind}/{i.name}": i.source for i in spec.inferred if i.annotation == CALLS_ANNOTATION}


def _datastore(w: Workload) -> str | None:
    ds = w.datastore
    if ds is None:
        return None
    where = {"container": "in the container", "memory": "on a memory emptyDir", "node": "on an emptyDir",
             "persistent": "on a volume"}[ds.storage]
    fate = ("a cache: nothing to lose" if ds.usage == "cache" else
            f"keeps its {ds.unit}" if ds.storage == "persistent" else
            f"loses its {ds.unit} with its {'container' if ds.storage == 'container' else 'pod'}")
    replicated = ", replicated" if ds.replicated else ""
    return f"{ds.engine or 'datastore'} {ds.usage} {where}{replicated}: {fate}"


def describe(spec: ClusterSpec, *, origin: str = "", telemetry: tuple[str, ...] = ()) -> str:
    lines = [f"twin {spec.name}: {len(spec.workloads)} workloads, {len(spec.services)} Services, "
             f"{len(spec.nodes)} nodes" + (f" (from the {origin}" + (f" and {', '.join(telemetry)}" if telemetry
                                                                  else "") + ")" if origin else "")]
    lines.append("\nentry points (requests per second, client):")
    for s in spec.services:
        if s.entrypoint:
            c = s.client
            retry = (f"{c.tries} tries, {_ms(c.connect_timeout_ms)} connect timeout"
                     + (", retries errors" if c.retry_on_error else "") if c.tries > 1 else "no retry")
            lines.append(f"  {s.key}  {s.load_rps:g} rps  {c.name}: {retry}  SLO {s.slo.availability:.2%} / "
                         f"{_ms(s.slo.latency_p99_ms)}")
    lines.append("\ncalls (caller -> Service: calls per request, timeout, retries; where they came from):")
    sources = _call_sources(spec)
    for w in spec.workloads:
        for call in w.calls:
            extra = [f"x{call.per_request:g}", _ms(call.timeout_ms), f"{call.retries} retries"]
            if call.fallback:
                extra.append("fallback")
            if call.cache_ttl_s > 0:
                extra.append("cached " + ("until restart" if math.isinf(call.cache_ttl_s) else _ms(
                    call.cache_ttl_s * 1000)))
            lines.append(f"  {w.key} -> {call.service}  {', '.join(extra)}")
        if w.calls and w.key in sources:
            lines.append(f"      from: {sources[w.key]}")
    backing = backing_map(spec)
    load = baseline_load(spec)
    capacity = {w.key: w.replicas * w.capacity_rps_per_pod for w in spec.workloads}
    lines.append("\nload at baseline (requests per second reaching each Service, share of its capacity):")
    for s in spec.services:
        rps = load.get(s.key, 0.0)
        cap = sum(capacity[k] for k in backing[s.key])
        if rps > 0:
            share = f"{rps / cap:.0%}" if cap > 0 else "no capacity"
            lines.append(f"  {s.key}  {rps:.4g} rps  {share}")
    stores = [(w.key, text) for w in spec.workloads if (text := _datastore(w)) is not None]
    if stores:
        lines.append("\ndatastores:")
        lines.extend(f"  {key}  {text}" for key, text in stores)
    if spec.notes:
        lines.append(f"\n{len(spec.notes)} notes (`chaos-agent twin build --out DIR` writes them to DIR/notes.txt)")
    return "\n".join(lines) + "\n"
