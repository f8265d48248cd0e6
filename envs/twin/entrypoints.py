"""Services finished: which are entry points, with what load, client, objectives and own latency.

Entry points are Services of type LoadBalancer or NodePort, Services an Ingress or HTTPRoute routes to, and
Services telemetry shows receiving requests from outside the input; ``chaos-agent.io/entrypoint`` decides
last. Loads come from the annotation, telemetry, or a default of half the capacity behind the Service.
"""

from __future__ import annotations

from dataclasses import replace

from envs.spec import EntryClient, ServiceSpec, Slo, Workload
from envs.twin import annotations as a
from envs.twin.annotations import ENTRY_CLIENT, AnnotationReader
from envs.twin.catalog import Catalog
from envs.twin.entry import Route, client_annotation, client_override, entry_routes
from envs.twin.graph import by_namespace
from envs.twin.notes import Notes
from envs.twin.provenance import Provenance
from envs.twin.services import ServiceDraft
from envs.twin.telemetry import Observations

DEFAULT_LOAD_SHARE = 0.5
"""An entry point without ``load-rps`` gets half the capacity of the pods behind it."""


def finish_services(
    cat: Catalog, services: dict[tuple[str, str], ServiceDraft], workloads: list[Workload], notes: Notes,
    provenance: Provenance, seen: Observations,
) -> tuple[list[ServiceSpec], set[str]]:
    routed: dict[tuple[str, str], Route] = {}
    for route in entry_routes(cat, notes):
        if route.service in services:
            routed.setdefault(route.service, route)
        else:
            notes.add(f"{route.origin}: routes to Service {route.service[0]}/{route.service[1]}, which is not in "
                      "the input")
    out = []
    defaulted: set[str] = set()
    in_namespace = by_namespace(workloads)  # a Service selects only in its namespace: O(S x W/ns), not O(S x W)
    for ref, draft in sorted(services.items()):
        reader = AnnotationReader(draft.describe, dict(draft.annotations), notes)
        reader.check_known(a.SERVICE_KEYS)
        reader.note_unquoted(draft.unquoted)
        default_entry = draft.type in ("LoadBalancer", "NodePort") or ref in routed
        outside = seen.external.get(ref)
        if outside is not None and not default_entry and a.ENTRYPOINT not in reader.values:
            default_entry = True
            provenance.add(draft.describe, a.ENTRYPOINT, "true",
                           f"{outside[0]:.3g} rps from outside the input, seen in {outside[1]}")
        is_entry = reader.get(a.ENTRYPOINT, a.boolean, default_entry)
        behind = [w for w in in_namespace.get(draft.namespace, ()) if draft.selector.matches(w.template.label_map)]
        load = reader.optional(a.LOAD_RPS, a.non_negative_number)
        if is_entry and load is None and outside is not None:
            load = float(f"{outside[0]:.2g}")  # measured: two digits, so the twin does not move with noise
            provenance.add(draft.describe, a.LOAD_RPS, f"{load:g}", f"seen in {outside[1]}, from outside the input")
        if is_entry and load is None:
            capacity = sum(w.replicas * w.capacity_rps_per_pod for w in behind)
            load = capacity * DEFAULT_LOAD_SHARE
            defaulted.add(f"{draft.namespace}/Service/{draft.name}")
            if behind:
                notes.add(
                    f"{draft.describe}: entry point without {a.LOAD_RPS}; assumed {load:g} rps, "
                    f"{DEFAULT_LOAD_SHARE:.0%} of the capacity of its {sum(w.replicas for w in behind)} pods"
                )
        if is_entry and not behind:
            notes.add(f"{draft.describe}: entry point that selects no modelled workload")
        via = routed.get(ref)
        client = client_override(reader, via.client if via is not None else EntryClient())
        retries = reader.optional(a.EDGE_RETRIES, a.non_negative_int)
        if retries is not None:  # the shorthand: only how often the edge retries on another endpoint
            named = via is not None or ENTRY_CLIENT in reader.values
            client = replace(client, name=client.name if named else "edge", tries=retries + 1)
        if is_entry and via is not None and ENTRY_CLIENT not in reader.values:
            provenance.add(draft.describe, ENTRY_CLIENT, client_annotation(client), via.source)
        defaults = ServiceSpec(draft.namespace, draft.name, draft.selector)
        out.append(
            ServiceSpec(
                namespace=draft.namespace,
                name=draft.name,
                selector=draft.selector,
                type=draft.type,
                entrypoint=is_entry,
                load_rps=load or 0.0,
                slo=Slo(
                    availability=reader.get(a.SLO_AVAILABILITY, a.fraction, defaults.slo.availability),
                    latency_p99_ms=reader.get(a.SLO_LATENCY, a.positive_number, defaults.slo.latency_p99_ms),
                ),
                base_latency_ms=_base_latency(reader, ref, seen, defaults.base_latency_ms, draft, provenance),
                client=client,
            )
        )
    return out, defaulted


def _base_latency(reader: AnnotationReader, ref: tuple[str, str], seen: Observations, default: float,
                  draft: ServiceDraft, provenance: Provenance) -> float:
    annotated = reader.optional(a.BASE_LATENCY, a.positive_number)
    if annotated is not None:
        return annotated
    if ref in seen.own_latency_ms:
        own, origin = seen.own_latency_ms[ref]
        provenance.add(draft.describe, a.BASE_LATENCY, f"{own:g}",
                       f"p99 seen in {origin}, less the p99 of the calls its workloads make")
        return own
    return default
