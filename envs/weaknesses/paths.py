"""Request and data paths of a cluster, as the root-cause analysis needs them, computed once per spec.

A request path starts at an entry Service's workloads and follows calls. A call without a fallback is
*critical*: its failure fails the caller's request. A workload is on an entry's critical path when a
chain of critical calls reaches it; the hop into it (caller and call) is where a fallback, retries or a
timeout decide whether its failure reaches users.
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.memo import per_spec
from envs.profile import allowed_disruptions, backing_map, propagated_load
from envs.spec import HOSTNAME_LABEL, Call, ClusterSpec, NodeSpec, PdbSpec, Workload
from envs.verdict import upstream_pipelines


@dataclass(frozen=True)
class Hop:
    """One call into a workload on a path: ``caller`` calls ``call.service``, which ``callee`` backs."""

    caller: str
    call: Call
    callee: str

    @property
    def locus(self) -> str:
        return f"{self.caller} -> {self.call.service}"


@dataclass(frozen=True)
class Paths:
    entries: dict[str, tuple[str, ...]]
    """Entry Service key -> the workloads it selects."""
    critical: dict[str, dict[str, Hop | None]]
    """Entry Service key -> workload on its critical path -> the hop into it (None: an entry workload)."""
    reach: dict[str, dict[str, Hop | None]]
    """The same over every call, fallback or not (what can slow the entry down)."""
    load: dict[str, float]
    """Service key -> requests per second at baseline."""
    workload_load: dict[str, float]
    """Workload key -> requests per second its Services carry."""
    service_of: dict[str, str]
    """Workload key -> the first Service selecting it."""
    backing: dict[str, tuple[str, ...]]
    """Service key -> the workloads it selects."""


def _walk(spec: ClusterSpec, starts: tuple[str, ...], backing: dict[str, tuple[str, ...]],
          critical_only: bool) -> dict[str, Hop | None]:
    workloads = {w.key: w for w in spec.workloads}
    seen: dict[str, Hop | None] = dict.fromkeys(starts)
    frontier = list(starts)
    while frontier:
        key = frontier.pop(0)
        for call in workloads[key].calls:
            if critical_only and call.fallback:
                continue
            for callee in backing.get(call.service, ()):
                if callee not in seen:
                    seen[callee] = Hop(key, call, callee)
                    frontier.append(callee)
    return seen


@per_spec
def paths(spec: ClusterSpec) -> Paths:
    """The request paths of ``spec`` (breadth first, so the hop into a workload is the one nearest the entry)."""
    backing = backing_map(spec)
    entries = {s.key: backing.get(s.key, ()) for s in spec.services if s.entrypoint}
    critical = {k: _walk(spec, wl, backing, critical_only=True) for k, wl in entries.items()}
    reach = {k: _walk(spec, wl, backing, critical_only=False) for k, wl in entries.items()}
    load = propagated_load(spec, backing)
    workload_load: dict[str, float] = {}
    service_of: dict[str, str] = {}
    for svc, wls in backing.items():
        for w in wls:
            workload_load[w] = workload_load.get(w, 0.0) + load.get(svc, 0.0)
            service_of.setdefault(w, svc)
    return Paths(entries, critical, reach, load, workload_load, service_of, backing)


def pdb_of(spec: ClusterSpec, w: Workload) -> PdbSpec | None:
    """The first PDB of the workload's namespace that selects its pods."""
    labels = w.template.label_map
    return next((p for p in spec.pdbs if p.namespace == w.namespace and p.selector.matches(labels)), None)


def pdb_protects(spec: ClusterSpec, w: Workload) -> bool:
    """A PDB selects the workload and lets at least one pod go, but not all of them."""
    pdb = pdb_of(spec, w)
    if pdb is None:
        return False
    allowed = allowed_disruptions(pdb, w.replicas)
    return 0 < allowed < w.replicas


def importance(spec: ClusterSpec, workload_or_service: str) -> float:
    """0.5..1: 0.5 plus half the share of the busiest entry's traffic that reaches it.

    The main request path (the busiest entry point and what it calls) is 1.0; a side path is nearer 0.5;
    what serves no request (a training job, a pipeline stage) is 0.5.
    """
    p = paths(spec)
    top = max((p.load.get(k, 0.0) for k in p.entries), default=0.0)
    if top <= 0:
        return 0.5
    load = p.load.get(workload_or_service, p.workload_load.get(workload_or_service, 0.0))
    return round(0.5 + 0.5 * min(1.0, load / top), 3)


def data_path_checks(spec: ClusterSpec, model: str) -> tuple[bool, bool]:
    """(a drift monitor, a schema check) anywhere on the pipeline that feeds ``model``, the model included."""
    drift = schema = False
    for key in upstream_pipelines(spec, model):
        try:
            pipeline = spec.workload(key).pipeline
        except KeyError:
            continue
        if pipeline is not None:
            drift, schema = drift or pipeline.drift_monitor, schema or pipeline.schema_check
    return drift, schema


def spare_gpus(spec: ClusterSpec, w: Workload, lost_node: str) -> int:
    """GPUs left free on the other nodes ``w``'s pods may use, when every GPU pod of the cluster runs.

    The spec does not say where pods run, so the demand is assumed to fill the lost node first and the
    rest of the GPU nodes after it: an estimate, exact when the GPU nodes are one pool.
    """
    others = [n for n in spec.nodes if n.key != lost_node and n.gpus > 0 and fits(w, n)]
    demand = sum(o.replicas * o.template.gpus for o in spec.workloads)
    lost = next((n.gpus for n in spec.nodes if n.key == lost_node), 0)
    return max(0, sum(n.gpus for n in others) - max(0, demand - lost))


def fits(w: Workload, node: NodeSpec, *, ignore_host_pin: bool = False) -> bool:
    """The workload's pods may run on ``node``: node selector, required node affinity, NoSchedule taints.

    ``ignore_host_pin`` drops node-affinity requirements on ``kubernetes.io/hostname`` (a fix may lift them).
    """
    t = w.template
    labels = node.label_map
    if any(labels.get(k) != v for k, v in t.node_selector):
        return False
    terms = [tuple(r for r in term if not (ignore_host_pin and r.key == HOSTNAME_LABEL)) for term in t.node_affinity]
    if terms and not any(all(r.matches(labels) for r in term) for term in terms):
        return False
    return all(taint.effect == "PreferNoSchedule" or any(tol.tolerates(taint) for tol in t.tolerations)
               for taint in node.taints)
