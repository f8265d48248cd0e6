"""Remediation: a concrete patch to the manifests for every weakness of a known kind.

Each fix is sized from the spec and the design basis, not from the fault that found the weakness:
enough replicas for the load with one pod lost (N+1), spread over nodes or zones, a PodDisruptionBudget
that lets one pod go, a timeout above the dependency's tail under the worst design-basis degradation,
a fallback on a critical call, retries at the edge that bring a design-basis loss under 1 % with a connect
timeout whose waits fit in the entry's latency objective, a volume
for state, checkpoints at half the progress a job may lose, a drift monitor or schema check on the
data path. What YAML cannot say goes in the ``chaos-agent.io/`` annotations the twin reads, with a
comment saying what to change in the application or the platform. ``NO_SPARE_GPU_CAPACITY`` needs
nodes, not a manifest change: it gets advice and no patch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds
from envs.sim import SimulatedCluster
from envs.sim.traffic import LIKELY
from envs.spec import HOSTNAME_LABEL, ZONE_LABEL, Call, ClusterSpec, ServiceSpec, Workload
from envs.twin.annotations import cache_ttl_text
from envs.twin.entry import client_annotation
from envs.weaknesses.manifests import (
    DATA_VOLUME,
    PREFIX,
    Obj,
    data_path,
    service_address,
    volume_claim_template,
)
from envs.weaknesses.patching import ManifestPatch, merge, render_yaml
from envs.weaknesses.paths import fits, paths, pdb_of
from envs.weaknesses.records import Aspect, Weakness
from envs.weaknesses.taxonomy import RootCause

MAX_LOST_SHARE = 0.01
"""A fix must bring the requests a design-basis fault loses under 1 % (the default availability SLO's budget),
and under the entry's own budget where its objective is stricter."""
TIMEOUT_MARGIN = 1.25
"""A timeout sits a quarter above the dependency's degraded tail, rounded up to 50 ms."""


@dataclass(frozen=True)
class Remediation:
    """What to change for one weakness: a summary and the patches (empty when no manifest change fixes it)."""

    weakness: str
    summary: str
    patches: tuple[ManifestPatch, ...]

    @property
    def yaml(self) -> str:
        return render_yaml(self.patches)


def remediation_for(spec: ClusterSpec, weakness: Weakness,
                    bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> Remediation | None:
    """The fix for every aspect of ``weakness`` in ``spec``, as one set of patches (one per object).

    None for an unexplained weakness: no known cause, no known fix.
    """
    if weakness.cause is RootCause.UNEXPLAINED:
        return None
    plan = _CallPlan(spec, bounds)
    parts = [_aspect_fix(spec, weakness, a, bounds, plan) for a in weakness.aspects]
    patches = [p for part in parts for p in part.patches]
    for caller_key, settings in plan.settings().items():
        patches.append(_annotate(spec.workload(caller_key), {PREFIX + "calls": json.dumps(settings, sort_keys=True)},
                                 "The call settings after the fix (chaos-agent.io/calls lists every call)."))
    summary = " ".join(dict.fromkeys(part.summary for part in parts))
    return Remediation(weakness.id, summary, _combine(patches))


def _combine(patches: list[ManifestPatch]) -> tuple[ManifestPatch, ...]:
    """One patch per object: bodies merged in order, comments kept."""
    out: dict[str, ManifestPatch] = {}
    for p in patches:
        known = out.get(p.key)
        if known is None:
            out[p.key] = p
            continue
        comment = "\n".join(c for c in dict.fromkeys((known.comment, p.comment)) if c)
        out[p.key] = ManifestPatch(p.key, merge(known.body, p.body), known.new or p.new, comment)
    return tuple(out.values())


def _call_settings(c: Call) -> dict[str, Any]:
    """A call as ``chaos-agent.io/calls`` states it, keeping how often it is made and how long it is cached."""
    out: dict[str, Any] = {"timeout_ms": c.timeout_ms, "retries": c.retries, "fallback": c.fallback}
    if c.per_request != 1.0:
        out["per_request"] = c.per_request
    if c.cache_ttl_s > 0:
        out["cache_ttl"] = cache_ttl_text(c.cache_ttl_s)
    return out


@dataclass
class _CallPlan:
    """What the fixes do to the calls into a component, decided once all its aspects are known: a call that
    gets a fallback needs no longer timeout, and a fallback for slowness needs a timeout that cuts it off."""

    spec: ClusterSpec
    bounds: DesignBasisBounds
    fallback: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(caller, Service) -> the fallback is for slowness (its timeout must cut a degraded answer off)."""
    raise_timeout: set[tuple[str, str]] = field(default_factory=set)

    def critical_calls_into(self, workload: str) -> list[tuple[str, str]]:
        """Every call without a fallback to a Service that selects ``workload``."""
        services = {svc for svc, wls in paths(self.spec).backing.items() if workload in wls}
        return [(w.key, c.service) for w in self.spec.workloads for c in w.calls
                if c.service in services and not c.fallback]

    def settings(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for caller_key in sorted({c for c, _ in self.fallback} | {c for c, _ in self.raise_timeout}):
            caller = self.spec.workload(caller_key)
            out[caller_key] = {service_address(c.service): _call_settings(c) for c in caller.calls}
        for (caller_key, service), slow in self.fallback.items():
            entry = out[caller_key][service_address(service)]
            entry["fallback"] = True
            if slow:
                entry["timeout_ms"] = min(float(entry["timeout_ms"]), self.cut_off_ms(service))
        for caller_key, service in self.raise_timeout - set(self.fallback):
            entry = out[caller_key][service_address(service)]
            entry["timeout_ms"] = max(float(entry["timeout_ms"]), self.above_tail_ms(service))
        return out

    def base_ms(self, service: str) -> float:
        try:
            return self.spec.service(service).base_latency_ms
        except KeyError:
            return 0.0

    def tail_ms(self, service: str) -> float:
        """The dependency's answer time under the worst design-basis slowdown."""
        return self.base_ms(service) + max(self.bounds.max_added_latency_ms, 2.0 * self.bounds.max_jitter_ms)

    def above_tail_ms(self, service: str) -> float:
        return math.ceil(self.tail_ms(service) * TIMEOUT_MARGIN / 50.0) * 50.0

    def cut_off_ms(self, service: str) -> float:
        """Halfway into the design-basis slowdown: normal answers pass, a degraded dependency falls back."""
        return math.ceil((self.base_ms(service) + self.bounds.max_added_latency_ms / 2) / 50.0) * 50.0


def _aspect_fix(spec: ClusterSpec, weakness: Weakness, aspect: Aspect, bounds: DesignBasisBounds,
                plan: _CallPlan) -> Remediation:
    cause, locus = aspect.cause, aspect.locus
    if cause is RootCause.NO_FALLBACK and aspect.variant in ("edge", "edge-slow"):
        return _edge(spec, weakness, locus, bounds)
    if cause in (RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL, RootCause.NO_FALLBACK) and " -> " in locus:
        return _call(weakness, aspect, plan)
    w = spec.workload(locus)
    if cause is RootCause.SINGLE_REPLICA_ON_PATH and aspect.variant == "leader":
        return _fix(weakness, "Serve from every replica: keep leader election for the work only one replica may do "
                    "(writes, schedules), not for answering requests.", _annotate(
                        w, {PREFIX + "leader-failover": "0s"},
                        "Application change: answer requests on every replica (leader election only for writes "
                        "or background work). The annotation tells the twin the Service no longer waits for a "
                        "leader."))
    if cause in (RootCause.SINGLE_REPLICA_ON_PATH, RootCause.COLOCATED_REPLICAS):
        return _spread(spec, weakness, w, zone=aspect.variant == "zone")
    if cause is RootCause.PDB_MISSING_OR_UNMEETABLE:
        return _fix(weakness, f"A PodDisruptionBudget that lets one pod of {w.name} go at a time.", _pdb(spec, w))
    if cause is RootCause.RETRY_AMPLIFICATION:
        n = _replicas_for(spec, w, 1.0 - bounds.max_cpu_stress)
        return _fix(weakness, f"{n} replicas of {w.name}: its load fits with one pod lost and "
                    f"{bounds.max_cpu_stress:.0%} of its CPU taken; cap its callers' retries with a retry budget.",
                    _scale(w, n, "Also give its callers a retry budget (at most one retry), so a slow "
                                 "dependency is not hit by a multiple of its load."))
    if cause is RootCause.NO_FALLBACK and aspect.variant == "stale":
        stale = 2 * bounds.max_ingestion_delay_s
        return _fix(weakness, f"Let {w.name} serve from its last good data for up to {stale:g} s (twice the "
                    "design-basis delay) instead of refusing it.", _annotate(
                        w, {PREFIX + "max-staleness": f"{stale:g}s"},
                        "Serve the last good features (a longer feature TTL) while an upstream stage is late."))
    if cause is RootCause.EPHEMERAL_STATE:
        return _volume(w, weakness)
    if cause is RootCause.NO_USABLE_CHECKPOINT:
        every = spec.model_slo.max_training_progress_lost_s / 2
        return _fix(weakness, f"Checkpoint {w.name} every {every:g} s (half the progress it may lose) to a volume "
                    "that outlives the pod.", _annotate(
                        w, {PREFIX + "checkpoint-interval": f"{every:g}s"},
                        f"Configure the trainer to save a checkpoint every {every:g} s to a PersistentVolumeClaim "
                        "and to resume from the newest one."))
    if cause is RootCause.NO_DRIFT_MONITOR:
        return _fix(weakness, f"A drift monitor on {w.name}'s input that alerts above one standard deviation.",
                    _annotate(w, {PREFIX + "drift-monitor": "true"},
                              "Run a drift check on this stage's features (for example a population stability "
                              "index or a KS test per feature) and alert on it."))
    if cause is RootCause.NO_SCHEMA_CHECK:
        return _fix(weakness, f"A schema check on {w.name}'s input that rejects malformed rows.",
                    _annotate(w, {PREFIX + "schema-check": "true"},
                              "Validate every row against the feature schema (types, nulls, ranges) and drop "
                              "or quarantine the ones that fail."))
    return Remediation(weakness.id, f"Add GPU capacity where {w.name} may run (a spare GPU node in its pool, or a "
                       "lower-priority workload it may preempt): no manifest of the workload changes that.", ())


def _fix(weakness: Weakness, summary: str, *patches: ManifestPatch) -> Remediation:
    return Remediation(weakness.id, summary, tuple(patches))


def _ref(w: Workload) -> Obj:
    api = "batch/v1" if w.kind == "Job" else "apps/v1"
    return {"apiVersion": api, "kind": w.kind, "metadata": {"name": w.name, "namespace": w.namespace}}


def _annotate(w: Workload, values: dict[str, str], comment: str) -> ManifestPatch:
    body = _ref(w)
    body["spec"] = {"template": {"metadata": {"annotations": values}}}
    return ManifestPatch(w.key, body, comment=comment)


def _scale(w: Workload, replicas: int, comment: str = "") -> ManifestPatch:
    body = _ref(w)
    body["spec"] = {"replicas": replicas}
    return ManifestPatch(w.key, body, comment=comment)


def _replicas_for(spec: ClusterSpec, w: Workload, usable: float = 1.0) -> int:
    """N+1: pods needed for the workload's load at ``usable`` of their capacity, plus one to lose."""
    load = paths(spec).workload_load.get(w.key, 0.0)
    needed = math.ceil(load / max(w.capacity_rps_per_pod * usable, 1e-9)) if load > 0 else 1
    return max(2, needed + 1, w.replicas)


def _pdb(spec: ClusterSpec, w: Workload) -> ManifestPatch:
    existing = pdb_of(spec, w)
    if existing is not None:
        return ManifestPatch(f"{existing.namespace}/PodDisruptionBudget/{existing.name}", {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": existing.name, "namespace": existing.namespace},
            "spec": {"minAvailable": None, "maxUnavailable": 1}},
            comment="Let exactly one pod go at a time: a budget that allows none blocks every drain.")
    body = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": w.name, "namespace": w.namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(w.template.labels)}}}
    return ManifestPatch(f"{w.namespace}/PodDisruptionBudget/{w.name}", body, new=True,
                         comment="Drains and evictions take one pod of it at a time.")


def _eligible_nodes(spec: ClusterSpec, w: Workload, *, ignore_host_pin: bool) -> list[str]:
    return [n.key for n in spec.nodes if fits(w, n, ignore_host_pin=ignore_host_pin)]


def _host_pinned(w: Workload) -> bool:
    """Required node affinity that only names hostnames: the pods may use a fixed list of nodes."""
    terms = w.template.node_affinity
    return bool(terms) and all(r.key == HOSTNAME_LABEL for term in terms for r in term)


def _spread(spec: ClusterSpec, weakness: Weakness, w: Workload, *, zone: bool) -> Remediation:
    n = _replicas_for(spec, w)
    key = ZONE_LABEL if zone else HOSTNAME_LABEL
    zones = {node.zone for node in spec.nodes if node.zone}
    pod_spec: Obj = {}
    unpin = _host_pinned(w) and len(_eligible_nodes(spec, w, ignore_host_pin=False)) < n
    nodes = _eligible_nodes(spec, w, ignore_host_pin=unpin)
    domains = len({next(x.zone for x in spec.nodes if x.key == k) for k in nodes}) if zone else len(nodes)
    term = {"labelSelector": {"matchLabels": dict(w.template.labels)}, "topologyKey": key}
    if domains >= n:
        anti: Obj = {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
    else:
        anti = {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}
    affinity: Obj = {"podAntiAffinity": anti}
    if unpin:
        affinity["nodeAffinity"] = None  # the hostname pin confines every replica to too few nodes
    pod_spec["affinity"] = affinity
    body = _ref(w)
    body["spec"] = {"template": {"spec": pod_spec}} if w.kind == "Job" else {
        "replicas": n, "template": {"spec": pod_spec}}
    where = "zone" if zone else "node"
    notes = [f"{n} replicas (the load fits with one lost), at most one per {where}"]
    if unpin:
        notes.append("the hostname pin is removed: it kept every replica on the same few nodes")
    if zone and len(zones) < 2:
        notes.append("the cluster's nodes span one zone: add nodes in another zone for this to hold")
    patches = [ManifestPatch(w.key, body, comment="; ".join(notes) + ".")]
    if w.kind != "Job" and pdb_of(spec, w) is None:
        patches.append(_pdb(spec, w))
    extra = " and a PodDisruptionBudget" if len(patches) > 1 else ""
    return Remediation(weakness.id, f"Run {w.name} as {n} replicas spread over {where}s{extra}.", tuple(patches))


def _volume(w: Workload, weakness: Weakness) -> Remediation:
    """A claim where the store writes: the volume at its data path becomes a PersistentVolumeClaim (a claim
    template for a StatefulSet, which takes that volume's place), or, with nothing mounted there, a claim is
    mounted at the data path of the container that runs it."""
    ds = w.datastore
    volume = ds.volume if ds is not None and ds.volume else DATA_VOLUME
    mount: list[Obj] = []
    if ds is not None and not ds.volume:  # the data is on the container's own disk: mount the claim there
        mount = [{"name": ds.container or w.name, "volumeMounts": [{"name": volume, "mountPath": data_path(w)}]}]
    where = f" at {ds.path}" if ds is not None and ds.path else ""
    if w.kind == "StatefulSet":
        body = _ref(w)
        body["spec"] = {"volumeClaimTemplates": [volume_claim_template(name=volume)]}
        comment = f"Volume '{volume}'{where} becomes a claim per pod."
        if ds is not None and ds.volume:
            body["spec"]["template"] = {"spec": {"volumes": [{"name": volume, "$patch": "delete"}]}}
            comment += " The pod template's own volume of that name goes (the claim takes its place)."
        elif mount:
            body["spec"]["template"] = {"spec": {"containers": mount}}
        else:
            comment = "Mount volume 'data' at the directory the store writes to (volumeMounts of its container)."
        return _fix(weakness, f"A PersistentVolumeClaim per pod of {w.name} (volumeClaimTemplates).",
                    ManifestPatch(w.key, body, comment=comment))
    claim = f"{w.name}-{volume}"
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim, "namespace": w.namespace},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}
    pod: Obj = {"volumes": [{"name": volume, "emptyDir": None, "persistentVolumeClaim": {"claimName": claim}}]}
    if mount:
        pod["containers"] = mount
    body = _ref(w)
    body["spec"] = {"template": {"spec": pod}}
    comment = "With more than one replica, make it a StatefulSet with volumeClaimTemplates."
    if ds is None:
        comment = "Mount volume 'data' where the store writes; " + comment[0].lower() + comment[1:]
    return _fix(weakness, f"Keep {w.name}'s data{where} on a PersistentVolumeClaim instead of the pod.",
                ManifestPatch(f"{w.namespace}/PersistentVolumeClaim/{claim}", pvc, new=True),
                ManifestPatch(w.key, body, comment=comment))


def _call(weakness: Weakness, aspect: Aspect, plan: _CallPlan) -> Remediation:
    caller, service = aspect.locus.split(" -> ")
    callee = paths(plan.spec).backing.get(service, ())
    calls = [c for w in callee for c in plan.critical_calls_into(w)] or [(caller, service)]
    name = service.split("/")[-1]
    if aspect.cause is RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL:
        plan.raise_timeout.update((c, s) for c, s in calls)
        timeout = plan.above_tail_ms(service)
        return Remediation(weakness.id, f"Raise the timeout of every critical call to {name} to {timeout:g} ms, above "
                           f"its tail ({plan.tail_ms(service):g} ms) under the worst design-basis slowdown.", ())
    slow = aspect.variant == "slow"
    for c, s in calls:
        plan.fallback[(c, s)] = plan.fallback.get((c, s), False) or slow
    cut = f", with a {plan.cut_off_ms(service):g} ms timeout that cuts a slow answer off" if slow else ""
    return Remediation(weakness.id, f"Give every critical call to {name} a fallback{cut} (a cached or default answer "
                       "when the call fails: an application change the annotation tells the twin).", ())


def _edge(spec: ClusterSpec, weakness: Weakness, locus: str, bounds: DesignBasisBounds) -> Remediation:
    """Retries at the edge on another pod, as many as bring a design-basis loss under 1 %, each lost or hung try
    costing a connect timeout short enough that the likely waits fit in the entry's p99 objective."""
    svc = spec.service(locus)
    client = svc.client
    tries, waits, timeout_ms = edge_sizing(spec, svc, bounds)
    fixed = dataclasses.replace(client, name=client.name if client.tries > 1 else "edge proxy", tries=tries,
                                connect_timeout_ms=timeout_ms)
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc.name, "namespace": svc.namespace,
                                                               "annotations": {
                                                                   PREFIX + "entry-client": client_annotation(fixed),
                                                                   PREFIX + "edge-retries": str(tries - 1)}}}
    nginx = (f"ingress-nginx: proxy-next-upstream \"error timeout\", proxy-next-upstream-tries {tries}, "
             f"proxy-connect-timeout {max(1, math.ceil(timeout_ms / 1000))} (whole seconds only"
             + (": 1 s is too long here, so front it with a proxy that takes milliseconds)" if timeout_ms < 1000
                else ")"))
    return _fix(weakness, f"Retry failed requests to {svc.name} at the edge on another pod, {tries} tries, each "
                f"waiting at most {timeout_ms:g} ms to connect ({waits} such waits fit in its "
                f"{svc.slo.latency_p99_ms:g} ms p99 objective).",
                ManifestPatch(svc.key, body, comment=(
                    "Platform change: let the ingress or load balancer retry a failed or timed-out connection on "
                    f"another endpoint, {tries} tries, with a {timeout_ms:g} ms connect timeout ({nginx}; "
                    f"Envoy/Istio: {tries - 1} retries on connect-failure and reset with the previous_hosts "
                    f"predicate, cluster connect_timeout {timeout_ms:g} ms). The annotations tell the twin.")))


def edge_sizing(spec: ClusterSpec, svc: ServiceSpec, bounds: DesignBasisBounds) -> tuple[int, int, float]:
    """(tries, waits, connect timeout in ms) for the client in front of entry point ``svc``.

    Tries: enough that ``max_packet_loss`` on every try fails no more requests than the entry's availability
    objective leaves room for in steady state (and at most 1 %), and at least two (a silent pod's requests go to
    another). Waits: the tries a request likelier than 1 % loses first (envs/sim/traffic.py counts them the
    same way), at least one (a hung pod). The connect timeout shares the room the p99 objective leaves above
    the entry's steady p99 among those waits, rounded down to 10 ms; never longer than the client's own.
    """
    steady = SimulatedCluster(spec, seed=0).instant()
    budget = min(MAX_LOST_SHARE, steady.availability.get(svc.key, 1.0) - svc.slo.availability)
    q = bounds.max_packet_loss
    need = math.ceil(math.log(budget) / math.log(q)) if 0.0 < q < 1.0 and 0.0 < budget < 1.0 else 1
    tries = max(2, svc.client.tries, need)
    waits = max(1, sum(1 for k in range(tries - 1) if q ** (k + 1) > LIKELY))
    room = svc.slo.latency_p99_ms - steady.latency_p99_ms.get(svc.key, svc.base_latency_ms)
    timeout_ms = max(10.0, math.floor(room / waits / 10.0) * 10.0)
    return tries, waits, min(svc.client.connect_timeout_ms, timeout_ms)
