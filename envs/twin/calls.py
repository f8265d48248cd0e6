"""The call graph: which Services each workload calls, from its env vars and ``chaos-agent.io/calls``.

Env values are searched as written (``$(VAR)`` references to earlier vars of the same container are
expanded, as the kubelet does), plus the values a container reads from ConfigMaps in the input through
``envFrom`` or ``valueFrom.configMapKeyRef``. The annotation overrides the defaults of calls found this
way and adds calls env vars do not show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from envs.spec import Call, workload_key
from envs.twin.addresses import resolve_value
from envs.twin.annotations import CALLS, AnnotationReader
from envs.twin.notes import Notes
from envs.twin.pods import EnvVar
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


def resolve_calls(
    draft: WorkloadDraft,
    services: Mapping[tuple[str, str], ServiceDraft],
    config_maps: Mapping[tuple[str, str], Mapping[str, str]],
    reader: AnnotationReader,
    notes: Notes,
) -> tuple[Call, ...]:
    found: list[tuple[str, str]] = []
    for _, ref in env_references(draft, services, config_maps, notes):
        if ref not in found:
            found.append(ref)
    calls: dict[tuple[str, str], Call] = {}
    for ref in found:
        calls[ref] = Call(service=workload_key(ref[0], "Service", ref[1]))
    for override in reader.calls():
        hits = resolve_value(override.target, draft.namespace, services)
        named = hits[0] if hits else None
        if named is None:
            notes.add(
                f"{draft.describe}: {CALLS} names {override.target!r}, which is not a Service in the "
                "input (ignored)"
            )
            continue
        call = calls.get(named, Call(service=workload_key(named[0], "Service", named[1])))
        changes: dict[str, object] = {}
        if override.timeout_ms is not None:
            changes["timeout_ms"] = override.timeout_ms
        if override.retries is not None:
            changes["retries"] = override.retries
        if override.fallback is not None:
            changes["fallback"] = override.fallback
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
    return tuple(kept)
