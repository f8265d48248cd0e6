"""Root-cause analysis: why one finding broke, read from the cluster's spec and the experiment's evidence.

``diagnose(spec, case, bounds)`` first places the case's faults against the design basis; beyond it
the case is impact and gets no cause. Within it, the cause follows from what the faults reached (the
footprint) and where that sits: for a request signal, the workloads on the entry's path and the hop
into each (a call's fallback, retries and timeout); for a job, its checkpoints; for a store, its
volumes; for a model, the monitors and checks on its data path. When several workloads the faults
reached could explain a breach, a cause that takes a whole path down (a single replica, colocated
replicas, a lost leader) wins over one that fails a share of requests. ``UNEXPLAINED`` is the answer
when no known cause fits; it is kept and says what was checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds, classify
from envs.faults import CATALOG, INTENSITY_NAMES, Fault, FaultKind
from envs.footprint import Touch
from envs.spec import ClusterSpec, Workload
from envs.weaknesses.paths import Hop, data_path_checks, paths, pdb_protects, spare_gpus
from envs.weaknesses.records import Case, Diagnosis
from envs.weaknesses.taxonomy import RootCause

F = FaultKind
LEADER_LOSS = frozenset({F.POD_KILL, F.POD_EVICTION, F.CONTAINER_CRASH, F.NODE_FAILURE, F.NODE_DRAIN,
                         F.GPU_DEVICE_FAILURE})
"""Faults that stop a pod's process, and with it a leader's lease."""
SILENT = frozenset({F.NODE_FAILURE, F.NETWORK_PARTITION})
"""Faults that leave a pod in its Service's endpoints while it answers nobody."""
SLOW = frozenset({F.NETWORK_LATENCY, F.NETWORK_JITTER})
LEADER_MARGIN = 0.1
"""How far below the share of endpoints lost the signal must fall before a lost leader, not the lost
endpoints, explains it (a lost leader stops every request; lost endpoints fail their share)."""
TOTAL, PARTIAL, NONE = 0, 1, 2
"""Ranks: a cause that stops a whole path, one that fails a share of requests, no known cause."""


@dataclass(frozen=True)
class _Hit:
    """What the faults took of one workload, summed over the faults that reached it."""

    workload: Workload
    pods_hit: int
    pods: int
    faults: tuple[Fault, ...]

    @property
    def all_pods(self) -> bool:
        return self.pods > 0 and self.pods_hit >= self.pods

    @property
    def node_faults(self) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if CATALOG[f.kind].target == "node")

    def has(self, kinds: frozenset[FaultKind]) -> bool:
        return any(f.kind in kinds for f in self.faults)


@dataclass(frozen=True)
class _Cause:
    cause: RootCause
    locus: str
    targets: tuple[str, ...]
    detail: str
    rank: int
    variant: str = ""


def diagnose(spec: ClusterSpec, case: Case, bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> Diagnosis:
    """The case against the design basis and, within it, its root cause."""
    replicas = {t.workload: t.pods for t in case.footprint}
    basis = classify(case.faults, spec, bounds, replicas=replicas)
    if not basis.within:
        return Diagnosis(basis, None)
    found = _explain(spec, case)
    return Diagnosis(basis, found.cause, found.locus, found.targets, found.detail, found.variant)


def _explain(spec: ClusterSpec, case: Case) -> _Cause:
    if case.violation in ("availability", "latency"):
        return _request(spec, case)
    subject = case.worst.subject
    try:
        w = spec.workload(subject)
    except KeyError:
        return _unexplained(case, f"{subject} is not a workload of the cluster's spec")
    if case.violation == "training_progress":
        return _training(spec, case, w)
    if case.violation == "data_loss":
        return _data_loss(case, w)
    if case.violation == "undetected_drift":
        drift, _ = data_path_checks(spec, w.key)
        if not drift:
            return _Cause(RootCause.NO_DRIFT_MONITOR, w.key, (w.key,),
                          f"no stage of the pipeline feeding {_name(w.key)} watches for drift: a shifted "
                          "feature lowers its accuracy and nobody is told", TOTAL)
        return _unexplained(case, f"a drift monitor sits on the data path of {_name(w.key)}, yet drift went unseen")
    return _quality(spec, case, w)


STORAGE = {"node": "an emptyDir, lost with its pod", "memory": "a memory-backed emptyDir, lost with its pod",
           "container": "the container's own filesystem, lost with every restart"}


def _data_loss(case: Case, w: Workload) -> _Cause:
    """A store whose data lives on ephemeral storage (the datastore's record says where; without one, a
    StatefulSet without claims)."""
    ds = w.datastore
    if ds is not None and ds.storage != "persistent":
        where = f" at {ds.path}" if ds.path else ""
        return _Cause(RootCause.EPHEMERAL_STATE, w.key, (w.key,),
                      f"{_name(w.key)} ({w.kind}) keeps its {ds.unit}{where} on {STORAGE[ds.storage]}"
                      + (", and every replica's copy went with them" if ds.replicated else ""), TOTAL, w.kind)
    if ds is None and not w.persistent_storage:
        return _Cause(RootCause.EPHEMERAL_STATE, w.key, (w.key,),
                      f"{_name(w.key)} ({w.kind}) keeps its data on the pod (no PersistentVolumeClaim): "
                      "every pod it loses loses its data", TOTAL, w.kind)
    return _unexplained(case, f"{_name(w.key)} keeps its data on storage that outlives its pods, yet lost data")


def _training(spec: ClusterSpec, case: Case, w: Workload) -> _Cause:
    tr = w.training
    bound = spec.model_slo.max_training_progress_lost_s
    if tr is None:
        return _unexplained(case, f"{_name(w.key)} is not a training job")
    if tr.checkpoint_interval_s is None:
        return _Cause(RootCause.NO_USABLE_CHECKPOINT, w.key, (w.key,),
                      f"{_name(w.key)} never checkpoints: any failure of its pods restarts training from "
                      f"zero, more than the {bound:g} s of progress it may lose", TOTAL, "never")
    if tr.checkpoint_interval_s > bound:
        return _Cause(RootCause.NO_USABLE_CHECKPOINT, w.key, (w.key,),
                      f"{_name(w.key)} checkpoints every {tr.checkpoint_interval_s:g} s, more than the {bound:g} s "
                      "of progress it may lose: a failure late in an interval loses too much", TOTAL, "rare")
    return _unexplained(case, f"{_name(w.key)} checkpoints every {tr.checkpoint_interval_s:g} s, within the "
                              f"{bound:g} s it may lose")


def _quality(spec: ClusterSpec, case: Case, w: Workload) -> _Cause:
    _, schema = data_path_checks(spec, w.key)
    kinds = {f.kind for f in case.faults}
    if F.CORRUPTED_ROWS in kinds and not schema:
        return _Cause(RootCause.NO_SCHEMA_CHECK, w.key, (w.key,),
                      f"no stage of the pipeline feeding {_name(w.key)} checks the schema of its rows: "
                      "corrupted rows reach the model", TOTAL)
    delays = [f for f in case.faults if f.kind is F.DELAYED_INGESTION]
    bound = w.pipeline.max_staleness_s if w.pipeline is not None else None
    if delays and bound is not None and max(f.magnitude for f in delays) > bound:
        late = max(f.magnitude for f in delays)
        return _Cause(RootCause.NO_FALLBACK, w.key, (w.key,),
                      f"{_name(w.key)} refuses data older than {bound:g} s and has no fallback to its last good "
                      f"data: an upstream stage {late:g} s late starves it", TOTAL, "stale")
    return _unexplained(case, f"the data path of {_name(w.key)} has a schema check and a staleness bound that "
                              "covers the delay")


# -- request paths ----------------------------------------------------------------------------------


def _request(spec: ClusterSpec, case: Case) -> _Cause:
    svc = case.worst.signal.split(" ", 1)[0]
    p = paths(spec)
    if svc not in p.entries:
        return _unexplained(case, f"{svc} is not an entry point of the cluster's spec")
    table = p.critical[svc] if case.violation == "availability" else p.reach[svc]
    candidates: list[_Cause] = []
    for hit in _hits(spec, case.footprint):
        if hit.workload.key in table:
            candidates += _request_causes(spec, case, svc, hit, table[hit.workload.key])
    if not candidates:
        which = "critical path (calls without a fallback)" if case.violation == "availability" else "call graph"
        return _unexplained(case, f"no workload the faults reached is on the {which} of {_name(svc)}")
    return min(candidates, key=lambda c: c.rank)


def _hits(spec: ClusterSpec, footprint: Sequence[Touch]) -> list[_Hit]:
    by: dict[str, list[Touch]] = {}
    for t in footprint:
        by.setdefault(t.workload, []).append(t)
    out = []
    for key, touches in by.items():
        try:
            w = spec.workload(key)
        except KeyError:
            continue
        pods = max(t.pods for t in touches)
        out.append(_Hit(w, min(pods, sum(t.pods_hit for t in touches)), pods, tuple(t.fault for t in touches)))
    return out


def _request_causes(spec: ClusterSpec, case: Case, svc: str, hit: _Hit, hop: Hop | None) -> list[_Cause]:
    w = hit.workload
    out: list[_Cause] = []
    if hit.pods_hit > 0:
        out += _lost_pods(spec, case, svc, hit, hop)
    for fault in hit.faults:
        out += _degraded(spec, case, svc, hit, hop, fault)
    if not out:
        out.append(_unexplained(case, f"{_name(w.key)} is on the path of {_name(svc)}, but what the faults took "
                                      "of it should not break it"))
    return out


def _lost_pods(spec: ClusterSpec, case: Case, svc: str, hit: _Hit, hop: Hop | None) -> list[_Cause]:
    w = hit.workload
    where = f"the request path of {_name(svc)}" if hop is None else f"{_name(hop.caller)}'s critical call to it"
    out: list[_Cause] = []
    nodes = hit.node_faults
    if w.template.gpus > 0 and any(f.kind in (F.GPU_DEVICE_FAILURE, F.NODE_FAILURE, F.NODE_DRAIN) for f in nodes):
        lost = nodes[0].target
        if spare_gpus(spec, w, lost) < w.template.gpus * hit.pods_hit:
            out.append(_Cause(RootCause.NO_SPARE_GPU_CAPACITY, w.key, (w.key,),
                              f"{_name(w.key)} needs {w.template.gpus} GPU(s) per pod and no other node it may use "
                              f"has them free: a pod lost on {lost.removeprefix('Node/')} cannot move", TOTAL))
    if w.replicas <= 1 or hit.pods <= 1:
        out.append(_Cause(RootCause.SINGLE_REPLICA_ON_PATH, w.key, (w.key,),
                          f"{_name(w.key)} runs one replica on {where}: losing its pod stops the path until a "
                          f"new pod is ready ({w.template.startup_s:g} s start-up)", TOTAL))
        return out
    if hit.all_pods and nodes:
        zone = len({f.target for f in nodes}) > 1
        out.append(_Cause(RootCause.COLOCATED_REPLICAS, w.key, (w.key,),
                          f"all {hit.pods} replicas of {_name(w.key)} run in one {'zone' if zone else 'node'} "
                          f"({', '.join(sorted({f.target.removeprefix('Node/') for f in nodes}))}): its failure "
                          f"takes them all off {where}", TOTAL, "zone" if zone else "node"))
        return out
    floor = 1.0 - hit.pods_hit / hit.pods
    deeper = case.violation == "availability" and case.worst.worst < floor - LEADER_MARGIN
    stops = hit.has(LEADER_LOSS - SILENT) or (hit.has(SILENT & LEADER_LOSS) and deeper)
    if w.leader_failover_s > 0 and stops:
        out.append(_Cause(RootCause.SINGLE_REPLICA_ON_PATH, w.key, (w.key,),
                          f"only the leader of {_name(w.key)} serves: losing its pod stops {where} for the "
                          f"{w.leader_failover_s:g} s leader failover", TOTAL, "leader"))
    drained = any(f.kind is F.NODE_DRAIN and f.intensity < 2 for f in nodes)
    if drained and hit.pods_hit >= 2 and not pdb_protects(spec, w):
        out.append(_Cause(RootCause.PDB_MISSING_OR_UNMEETABLE, w.key, (w.key,),
                          f"{_name(w.key)} has no PodDisruptionBudget that a drain must respect: draining a node "
                          f"evicted {hit.pods_hit} of its {hit.pods} pods at once", PARTIAL))
    elif nodes and hit.pods_hit >= 2:
        domain = "zone" if len({f.target for f in nodes}) > 1 else "node"
        out.append(_Cause(RootCause.COLOCATED_REPLICAS, w.key, (w.key,),
                          f"{hit.pods_hit} of the {hit.pods} replicas of {_name(w.key)} share a {domain}: its "
                          f"failure takes them together off {where}", PARTIAL, domain))
    if hit.has(SILENT):
        share = f"{hit.pods_hit} of {hit.pods} pods"
        if hop is None:
            out.append(_edge(spec, case, svc, f"{share} of {_name(w.key)} stayed in the endpoints of {_name(svc)} "
                                              "while answering nobody"))
        elif not hop.call.fallback:
            out.append(_call(hop, f"{share} of {_name(w.key)} answered nobody and {_name(hop.caller)} calls it without "
                                  f"a fallback and with {hop.call.retries} retries"))
    return out


def _degraded(spec: ClusterSpec, case: Case, svc: str, hit: _Hit, hop: Hop | None, fault: Fault) -> list[_Cause]:
    w = hit.workload
    what = f"{fault.kind.value}[{INTENSITY_NAMES[fault.intensity]}]"
    if fault.kind is F.NETWORK_LOSS:
        if hop is None:
            return [_edge(spec, case, svc, f"{fault.magnitude:.0%} of the packets into {_name(w.key)} were lost")]
        if not hop.call.fallback:
            return [_call(hop, f"{fault.magnitude:.0%} of the packets into {_name(w.key)} were lost; "
                               f"{_name(hop.caller)} calls it without a fallback and with {hop.call.retries} retries")]
        return []
    if fault.kind in SLOW:
        if hop is None or hop.call.fallback:
            return [_Cause(RootCause.UNEXPLAINED, f"{case.violation}:{svc}", (svc,),
                           f"{what} on {_name(w.key)} passed straight to {_name(svc)}'s "
                           f"{case.worst.signal.split(' ', 1)[1]}: its objective leaves no room for one degraded "
                           "hop (no known cause: a latency budget, not a resilience setting)", NONE)]
        tail = _degraded_tail(spec, hop, fault)
        if tail > hop.call.timeout_ms:
            return [_Cause(RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL, hop.locus, (hop.caller, w.key),
                           f"{_name(hop.caller)} calls {_name(hop.call.service)} with a {hop.call.timeout_ms:g} ms "
                           f"timeout and no fallback; under {what} its answers take about {tail:.0f} ms, so every "
                           f"attempt times out ({hop.call.retries} retries do not help)", PARTIAL)]
        if case.violation == "latency":
            return [_Cause(RootCause.NO_FALLBACK, hop.locus, (hop.caller, w.key),
                           f"under {what} {_name(w.key)} answers in about {tail:.0f} ms, within "
                           f"{_name(hop.caller)}'s {hop.call.timeout_ms:g} ms timeout: without a fallback the caller "
                           f"waits, and the slowness reaches {_name(svc)}'s p99", PARTIAL, "slow")]
        return []
    if fault.kind is F.CPU_STRESS:
        p = paths(spec)
        capacity = hit.pods * w.capacity_rps_per_pod * (1.0 - fault.magnitude)
        load = p.workload_load.get(w.key, 0.0)
        if capacity >= load:
            return []
        callers_retry = hop is not None and hop.call.retries > 0
        if callers_retry and hop is not None:
            return [_Cause(RootCause.RETRY_AMPLIFICATION, w.key, (hop.caller, w.key),
                           f"{what} leaves {_name(w.key)} {capacity:.0f} rps for {load:.0f} rps of load, and "
                           f"{_name(hop.caller)} retries {hop.call.retries} time(s) into it", PARTIAL)]
        if hop is not None and not hop.call.fallback:
            return [_call(hop, f"{what} leaves {_name(w.key)} {capacity:.0f} rps for {load:.0f} rps and "
                               f"{_name(hop.caller)} has no fallback")]
    return []


def _degraded_tail(spec: ClusterSpec, hop: Hop, fault: Fault) -> float:
    """The callee's answer time under the fault: its base latency plus the added latency (2 sigma of jitter)."""
    try:
        base = spec.service(hop.call.service).base_latency_ms
    except KeyError:
        base = 0.0
    added = fault.magnitude if fault.kind is F.NETWORK_LATENCY else 2.0 * fault.magnitude
    return base + added


def _edge(spec: ClusterSpec, case: Case, svc: str, what: str) -> _Cause:
    """Failed tries at an entry point reached its users: nothing in front retries them on another pod (or too
    few times), or it does, and each lost or hung try costs its connect timeout, which the latency objective
    has no room for (variant ``edge-slow``)."""
    client = spec.service(svc).client
    if client.tries > 1 and case.violation == "latency":
        return _Cause(RootCause.NO_FALLBACK, svc, (svc,),
                      f"{what}; {client.name} retries another pod, but only after its "
                      f"{client.connect_timeout_ms:g} ms connect timeout, and {_name(svc)}'s p99 objective of "
                      f"{spec.service(svc).slo.latency_p99_ms:g} ms has no room for the waits", PARTIAL, "edge-slow")
    how = "requests from outside are not retried on another pod" if client.tries <= 1 else \
        f"{client.name} tries {client.tries} pods per request, too few for what was lost"
    return _Cause(RootCause.NO_FALLBACK, svc, (svc,), f"{what}, and {how}", PARTIAL, "edge")


def _call(hop: Hop, detail: str) -> _Cause:
    return _Cause(RootCause.NO_FALLBACK, hop.locus, (hop.caller, hop.callee), detail, PARTIAL, "call")



def _unexplained(case: Case, checked: str) -> _Cause:
    subject = case.worst.signal.split(" ", 1)[0] if case.violation in ("availability", "latency") \
        else case.worst.subject
    return _Cause(RootCause.UNEXPLAINED, f"{case.violation}:{subject}", (subject,),
                  f"no known cause explains it: {checked}", NONE)


def _name(key: str) -> str:
    """``ns/Kind/name`` -> ``ns/name``; ``Node/x`` -> ``x``."""
    parts = key.split("/")
    return f"{parts[0]}/{parts[-1]}" if len(parts) == 3 else parts[-1]
