"""The call graph: which Services each workload calls, from its env vars and ``chaos-agent.io/calls``.

Env values are searched as written (``$(VAR)`` references to earlier vars of the same container are
expanded, as the kubelet does), plus the values a container reads from ConfigMaps in the input through
``envFrom`` or ``valueFrom.configMapKeyRef``. The annotation overrides the defaults of calls found this
way and adds calls env vars do not show.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from envs.spec import Call, workload_key
from envs.twin.addresses import resolve_value
from envs.twin.annotations import CALLS, AnnotationReader, cache_ttl_text
from envs.twin.notes import Notes
from envs.twin.pods import EnvVar
from envs.twin.provenance import Provenance
from envs.twin.services import ServiceDraft
from envs.twin.workloads import WorkloadDraft

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")


def _expanded(env: tuple[EnvVar, ...]) -> list[tuple[str, str]]:
    values: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for var in env:

        def sub(match: re.Match[str], container: str = var.container) -> str:
            if match.group(0) == "$$":
                return "$"
            return seen.get((container, match.group(1)), match.group(0))

        value = _REFERENCE.sub(sub, var.value)
        seen[(var.container, var.name)] = value
        values.append((var.name, value))
    return values


def _config_map_values(
    draft: WorkloadDraft, config_maps: Mapping[tuple[str, str], Mapping[str, str]], notes: Notes
) -> list[tuple[str, str]]:
    """(env var name, value) of what the containers read from ConfigMaps (``envFrom``: prefix + key)."""
    values: list[tuple[str, str]] = []
    for cm_name, key, var in draft.shape.config_map_refs:
        data = config_maps.get((draft.namespace, cm_name))
        if data is None:
            notes.add(
                f"{draft.describe}: ConfigMap {draft.namespace}/{cm_name} is not in the input; "
                "its values were not searched for Service addresses"
            )
        elif key is None:
            values.extend((var + k, data[k]) for k in sorted(data))
        elif key in data:
            values.append((var, data[key]))
    return values


def env_references(
    draft: WorkloadDraft,
    services: Mapping[tuple[str, str], ServiceDraft],
    config_maps: Mapping[tuple[str, str], Mapping[str, str]],
    notes: Notes,
) -> list[tuple[str, tuple[str, str]]]:
    """(env var name, (namespace, Service)) for every Service an env value of the workload names, in order."""
    out: list[tuple[str, tuple[str, str]]] = []
    for name, value in _expanded(draft.shape.env) + _config_map_values(draft, config_maps, notes):
        for ref in resolve_value(value, draft.namespace, services):
            out.append((name, ref))
    return out


def selects(service: ServiceDraft, draft: WorkloadDraft) -> bool:
    return service.namespace == draft.namespace and service.selector.matches(draft.shape.template.label_map)


LOOKUP_SERVERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("cp-schema-registry", "schema-registry", "apicurio-registry", "karapace"),
     "a schema registry: its clients cache schemas for the life of the process"),
    (("spring-cloud-config", "config-server", "cloud-config-server"),
     "a configuration server: its clients read it at start"),
    (("unleash", "flagd", "ld-relay", "flipt", "growthbook"),
     "a feature-flag server: its SDKs keep the last flags they fetched"),
    (("consul", "eureka"), "a service registry: its clients keep the last registry they fetched"),
)
"""Servers whose answers clients cache by default (image name prefixes, and why)."""


def lookup_reason(images: Iterable[str]) -> str | None:
    """Why calls to a workload running one of these images are cached, or None."""
    for image in images:
        name = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
        for prefixes, why in LOOKUP_SERVERS:
            if name.startswith(prefixes):
                return why
    return None


@dataclass(frozen=True)
class CallEvidence:
    """What the twin knows about a workload's calls beyond its env vars and annotations."""

    lookups: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Service ref -> why its answers are cached (a lookup server behind it)."""
    observed: Mapping[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
    """Service ref -> (calls per request served, the telemetry it was seen in) for this workload."""


def resolve_calls(
    draft: WorkloadDraft,
    services: Mapping[tuple[str, str], ServiceDraft],
    config_maps: Mapping[tuple[str, str], Mapping[str, str]],
    reader: AnnotationReader,
    notes: Notes,
    evidence: CallEvidence = CallEvidence(),
    provenance: Provenance | None = None,
) -> tuple[Call, ...]:
    why: dict[tuple[str, str], list[str]] = {}
    for var, ref in env_references(draft, services, config_maps, notes):
        if f"env {var}" not in why.setdefault(ref, []):
            why[ref].append(f"env {var}")
    for ref, (_, origin) in evidence.observed.items():
        why.setdefault(ref, []).append(f"seen in {origin}")
    calls: dict[tuple[str, str], Call] = {}
    for ref in why:
        calls[ref] = _call(ref, evidence, why[ref])
    stated: set[tuple[str, str]] = set()
    for override in reader.calls():
        hits = resolve_value(override.target, draft.namespace, services)
        named = hits[0] if hits else None
        if named is None:
            notes.add(
                f"{draft.describe}: {CALLS} names {override.target!r}, which is not a Service in the "
                "input (ignored)"
            )
            continue
        stated.add(named)
        call = calls.get(named) or _call(named, evidence, why.setdefault(named, []))
        changes = {k: v for k, v in (("timeout_ms", override.timeout_ms), ("retries", override.retries),
                                     ("fallback", override.fallback), ("per_request", override.per_request),
                                     ("cache_ttl_s", override.cache_ttl_s)) if v is not None}
        calls[named] = replace(call, **changes)  # type: ignore[arg-type]
    kept = []
    for ref in sorted(calls):
        service = services[ref]
        if selects(service, draft):
            notes.add(f"{draft.describe}: ignored a call to its own {service.describe}")
        elif not service.selector.match_labels:
            notes.add(
                f"{draft.describe}: calls {service.describe}, which has no selector (an external "
                "dependency); the call is not modelled"
            )
        else:
            kept.append(calls[ref])
    inferred = {ref for ref, reasons in why.items() if reasons and ref not in stated}
    if provenance is not None and any(workload_key(ref[0], "Service", ref[1]) in {c.service for c in kept}
                                      for ref in inferred):
        _record(draft, tuple(kept), why, evidence, provenance)
    return tuple(kept)


def _call(ref: tuple[str, str], evidence: CallEvidence, why: list[str]) -> Call:
    call = Call(service=workload_key(ref[0], "Service", ref[1]))
    if ref in evidence.observed:
        call = replace(call, per_request=float(f"{evidence.observed[ref][0]:.2g}"))  # measured: 2 digits
    if ref in evidence.lookups:
        call = replace(call, cache_ttl_s=math.inf)
        why.append(f"cached: {evidence.lookups[ref]}")
    return call


def _record(draft: WorkloadDraft, calls: tuple[Call, ...], why: Mapping[tuple[str, str], list[str]],
            evidence: CallEvidence, provenance: Provenance) -> None:
    """Every call as the ``chaos-agent.io/calls`` value that states it, with where each came from."""
    value: dict[str, dict[str, object]] = {}
    sources = []
    for call in calls:
        ns, _, name = call.service.split("/", 2)
        target = name if ns == draft.namespace else f"{name}.{ns}"
        entry: dict[str, object] = {"timeout_ms": call.timeout_ms, "retries": call.retries, "fallback": call.fallback}
        if call.per_request != 1.0:
            entry["per_request"] = call.per_request
        if call.cache_ttl_s > 0:
            entry["cache_ttl"] = cache_ttl_text(call.cache_ttl_s)
        value[target] = entry
        reasons = why.get((ns, name))
        sources.append(f"{target}: {', '.join(reasons) if reasons else 'annotated'}")
    provenance.add(draft.origin, CALLS, json.dumps(value, sort_keys=True), "; ".join(sources))
