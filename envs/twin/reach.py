"""Who reaches whom before calls are final: Services to the workloads they select, workloads to the Services
their env vars name, telemetry joined to both, and brokers passing a pipeline's data on to their consumers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from envs.spec import Datastore, workload_key
from envs.twin import annotations as a
from envs.twin.calls import env_references, selects
from envs.twin.datastores import BROKERS
from envs.twin.ml import PipelineHints
from envs.twin.notes import Notes
from envs.twin.provenance import Provenance
from envs.twin.services import ServiceDraft
from envs.twin.telemetry import Observations, ObservedCall, join, observations
from envs.twin.workloads import WorkloadDraft


@dataclass(frozen=True)
class Reach:
    """Who reaches whom through env vars: Services to the workloads they select, workloads to what they name."""

    behind: dict[tuple[str, str], list[str]]
    """Service ref -> keys of the workloads it selects."""
    named: dict[str, list[tuple[str, tuple[str, str]]]]
    """Workload key -> (env var, Service ref) of every Service its env values name."""

    def around(self) -> dict[str, set[str]]:
        """Per workload: the names of the Services selecting it and of the env vars its clients name them by."""
        out: dict[str, set[str]] = {key: set() for key in self.named}
        for ref, keys in self.behind.items():
            for k in keys:
                out[k].add(ref[1])
        for refs in self.named.values():
            for var, ref in refs:
                for k in self.behind.get(ref, ()):
                    out[k].add(var)
        return out

    def callers(self, key: str) -> set[str]:
        return {k for k, refs in self.named.items() if k != key and any(key in self.behind.get(r, ()) for _, r in refs)}


def address(service_key: str, namespace: str) -> str:
    """How a workload in ``namespace`` names a Service: ``name``, or ``name.namespace`` across namespaces."""
    ns, _, name = service_key.split("/", 2)
    return name if ns == namespace else f"{name}.{ns}"


def reach(
    drafts: dict[str, WorkloadDraft],
    services: dict[tuple[str, str], ServiceDraft],
    config_maps: dict[tuple[str, str], dict[str, str]],
    notes: Notes,
) -> Reach:
    in_namespace: dict[str, list[tuple[str, WorkloadDraft]]] = {}
    for key, d in drafts.items():
        in_namespace.setdefault(d.namespace, []).append((key, d))
    behind = {ref: [k for k, d in in_namespace.get(svc.namespace, ()) if selects(svc, d)]
              for ref, svc in services.items()}
    named = {key: env_references(d, services, config_maps, notes) for key, d in drafts.items()}
    return Reach(behind, named)


def brokers_feed_consumers(
    hints: dict[str, PipelineHints], stores: dict[str, Datastore | None], graph: Reach,
    drafts: dict[str, WorkloadDraft], provenance: Provenance, notes: Notes,
) -> None:
    """A message broker a pipeline stage feeds passes the data on to its consumers: the workloads that reach
    it and do not feed it. It becomes a pass-through stage feeding their Services."""
    service_keys = {ref: workload_key(ref[0], "Service", ref[1]) for ref in graph.behind}
    for key, ds in sorted(stores.items()):
        if ds is None or ds.engine not in BROKERS:
            continue
        mine = {service_keys[ref] for ref, keys in graph.behind.items() if key in keys}
        feeders = {k for k, h in hints.items() if h.declared and mine & set(h.feeds)}
        if not feeders:
            continue
        consumers = sorted(graph.callers(key) - feeders)
        targets = sorted({service_keys[ref] for ref, keys in graph.behind.items() for c in consumers if c in keys})
        for c in consumers:
            if not any(c in keys for keys in graph.behind.values()):
                notes.add(f"{drafts[c].describe}: consumes from broker {drafts[key].describe} but no Service selects "
                          "it, so the pipeline's data path through it is not modelled")
        extra = tuple(sorted(set(hints[key].feeds) | set(targets)))
        if extra != hints[key].feeds:
            hints[key] = replace(hints[key], declared=True, feeds=extra)
            provenance.add(drafts[key].origin, a.FEEDS, ",".join(address(t, drafts[key].namespace) for t in extra),
                f"a {ds.engine} broker fed by {', '.join(sorted(drafts[f].describe for f in feeders))}: its "
                "consumers are the workloads that reach it and do not feed it")


def observed_calls(observed: Iterable[ObservedCall], drafts: dict[str, WorkloadDraft],
                  services: dict[tuple[str, str], ServiceDraft], graph: Reach, notes: Notes) -> Observations:
    workload_names = {(d.namespace, d.name): key for key, d in drafts.items()}
    service_of = {(drafts[k].namespace, drafts[k].name): ref for ref, keys in sorted(graph.behind.items())
                  for k in reversed(keys)}
    edges, lost = join(observed, workload_names, services, service_of)
    for line in lost:
        notes.add(line)
    return observations(edges, graph.behind)
