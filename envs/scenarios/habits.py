"""How people configure workloads: one distribution every generated workload, call, job and pipeline
draws from, whatever its place in the topology.

Nothing is planted. A single replica, a missing PDB, a call without fallback, a rare checkpoint, a
pipeline with one monitor: each shows up everywhere at the same rate, on the request path and off it,
behind a fallback and not, so a static rule cannot tell the weak from the merely imperfect. Whether a
configuration is a weakness follows from where it sits, and the answer key finds out by running the
simulator (``envs.scenarios.effects``), not from these draws.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from envs.scenarios.draft import Draft, NodeDraft, WorkloadDraft
from envs.scenarios.names import Names
from envs.scenarios.physics import Physics, log_uniform
from envs.spec import Pipeline, PipelineStage, Probe, Training, WorkloadKind, WorkloadRole

MAX_PROGRESS_LOSS_S = 1800.0
"""ModelSlo.max_training_progress_lost_s: a job checkpointing more rarely may lose more than this."""


def pick(rng: random.Random, weights: dict[int, float]) -> int:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class Builder:
    """A draft under construction, with what the habits draw from and the pins to resolve at the end."""

    draft: Draft
    rng: random.Random
    names: Names
    physics: Physics
    ns: str
    entries: list[WorkloadDraft] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    """Workload name -> "host" (pinned to one node) or "zone" (to the nodes of one zone)."""
    gpu_jobs: list[WorkloadDraft] = field(default_factory=list)

    def namespace(self, suffix: str) -> str:
        return f"{self.ns}-{suffix}"


# -- serving --------------------------------------------------------------------------------------------


def serving(b: Builder, name: str, *, ns: str | None = None, kind: WorkloadKind = "Deployment",
            role: WorkloadRole = "serving", latency_ms: tuple[float, float] = (3.0, 60.0),
            startup_s: tuple[float, float] = (3.0, 40.0), gpus: int = 0, persistent: bool | None = None,
            cpu_millis: int = 500) -> WorkloadDraft:
    """A serving workload (API, cache, database, model server), its resilience drawn from the habits."""
    rng = b.rng
    replicas = pick(rng, {1: 0.2, 2: 0.25, 3: 0.35, 4: 0.12, 6: 0.08})
    w = WorkloadDraft(
        namespace=ns or b.ns, name=name, kind=kind, role=role, replicas=replicas, cpu_millis=cpu_millis,
        memory_mib=rng.choice((256, 512, 1024, 2048, 4096)), gpus=gpus, gpu_pool=gpus > 0,
        startup_s=b.physics.startup(log_uniform(rng, *startup_s)),
        base_latency_ms=b.physics.latency(log_uniform(rng, *latency_ms)),
        probe=Probe(initial_delay_s=float(rng.choice((2, 5, 10, 15))), period_s=5.0) if rng.random() < 0.85 else None,
        spread=rng.random() < 0.45, pdb_min_available=_pdb(rng, replicas),
        leader_failover_s=float(rng.choice((5, 15, 30, 60, 120))) if rng.random() < 0.07 else 0.0,
        hpa=kind == "Deployment" and rng.random() < 0.15,
        headroom=10.0 if rng.random() < 0.6 else round(log_uniform(rng, 1.4, 6.0), 2),
        persistent=(rng.random() < 0.8) if persistent is None else persistent,
    )
    b.draft.add(w)
    roll = rng.random()
    if roll < 0.07:
        b.pins[w.name] = "host"
    elif roll < 0.14:
        b.pins[w.name] = "zone"
    return w


def _pdb(rng: random.Random, replicas: int) -> int | None:
    """No PDB 45 %; otherwise minAvailable one below the replicas, just one, or all of them (unmeetable)."""
    roll = rng.random()
    if roll < 0.45:
        return None
    if roll < 0.55:
        return replicas
    return max(1, replicas - 1) if roll < 0.85 else 1


def datastore(b: Builder, name: str, *, ns: str | None = None) -> WorkloadDraft:
    """A database (StatefulSet, usually on volumes) or an in-memory cache (Deployment)."""
    if b.rng.random() < 0.5:
        return serving(b, name, ns=ns, kind="StatefulSet", latency_ms=(2.0, 30.0), startup_s=(10.0, 60.0))
    return serving(b, name, ns=ns, role="cache", latency_ms=(0.5, 5.0), startup_s=(2.0, 15.0))


def entry(b: Builder, name: str, load_rps: tuple[float, float]) -> WorkloadDraft:
    """An internet-facing workload; its latency SLO sits a drawn margin above its steady p99, and the edge in
    front retries a failed request on another endpoint 0 (a bare load balancer) to 5 times."""
    w = serving(b, name, latency_ms=(5.0, 40.0), startup_s=(2.0, 20.0))
    w.entry = True
    w.load_rps = b.physics.load(log_uniform(b.rng, *load_rps))
    w.replicas = max(w.replicas, 2)
    w.slo_margin_ms = round(log_uniform(b.rng, 500.0, 5000.0), -1)
    w.edge_retries = pick(b.rng, {0: 0.4, 1: 0.15, 3: 0.2, 5: 0.25})  # a bare load balancer, or an ingress
    b.entries.append(w)
    return w


def call(b: Builder, caller: WorkloadDraft, callee: WorkloadDraft) -> None:
    """A dependency: a fallback (55 %) or not, 0 to 5 retries, and a timeout drawn from what teams set (0.2 s
    to 10 s)."""
    rng = b.rng
    floor = 1.3 * callee.base_latency_ms
    timeout = max(floor, round(log_uniform(rng, 200.0, 10000.0), -1))
    b.draft.call(caller, callee, timeout_ms=timeout, retries=pick(rng, {0: 0.15, 1: 0.15, 2: 0.2, 3: 0.2, 5: 0.3}),
                 fallback=rng.random() < 0.55)


def batch(b: Builder, name: str, *, ns: str | None = None) -> WorkloadDraft:
    """A worker off every request path (no Service)."""
    w = serving(b, name, ns=ns, role="batch", startup_s=(5.0, 60.0))
    w.service = False
    return w


# -- jobs and pipelines -----------------------------------------------------------------------------------


def job(b: Builder, name: str, *, ns: str | None = None, gpus: int = 0) -> WorkloadDraft:
    """A long-running Job (training or a batch computation): checkpoints drawn from never to every 5 min."""
    rng = b.rng
    epoch_s = float(rng.choice((60, 300, 600, 900)))
    roll = rng.random()
    if roll < 0.25:  # never checkpoints: harmless only when the whole run is short
        short = rng.random() < 0.4
        epochs = rng.choice((2, 3, 5)) if short else rng.choice((200, 1000, 2000))
        epochs = max(1, int(epochs * (300.0 if short else epoch_s) / epoch_s))
        training = Training(epochs=epochs, epoch_s=epoch_s, checkpoint_interval_s=None,
                            gpu_memory_fraction=rng.choice((0.3, 0.6, 0.9)))
    else:  # the interval either fits the loss bound or plainly does not: 5 to 28 min, or 45 min to 1.5 h
        interval = log_uniform(rng, 300.0, 1700.0) if rng.random() < 0.65 else log_uniform(rng, 2700.0, 5400.0)
        training = Training(epochs=rng.choice((200, 1000, 2000)), epoch_s=epoch_s,
                            checkpoint_interval_s=round(interval, -1), gpu_memory_fraction=rng.choice((0.3, 0.6, 0.9)))
    w = WorkloadDraft(namespace=ns or b.ns, name=name, kind="Job", role="training",
                      replicas=pick(rng, {1: 0.6, 2: 0.25, 4: 0.15}), gpus=gpus, gpu_pool=gpus > 0,
                      cpu_millis=4000 if gpus else 2000, memory_mib=16384 if gpus else 8192,
                      startup_s=b.physics.startup(log_uniform(rng, 20.0, 120.0)), probe=None, spread=False,
                      training=training, pdb_min_available=None, service=False)
    b.draft.add(w)
    if gpus:
        b.gpu_jobs.append(w)
    return w


def pipeline(b: Builder, base: str, model: str | None, *, ns: str | None = None
             ) -> tuple[WorkloadDraft, WorkloadDraft, WorkloadDraft | None]:
    """producer -> feature store -> model (or only a report store when ``model`` is None).

    Each stage has its own chance of a drift monitor and a schema check, so a model is often covered
    by a check on another stage of its path; the model's staleness bound is drawn from 10 min to 4 h."""
    rng = b.rng
    space = ns or b.ns

    def stage(kind: PipelineStage, feeds: tuple[str, ...]) -> Pipeline:
        return Pipeline(kind, feeds=feeds, drift_monitor=rng.random() < 0.3, schema_check=rng.random() < 0.3,
                        max_staleness_s=staleness)

    staleness = round(log_uniform(rng, 600.0, 14400.0), -1)
    model_w: WorkloadDraft | None = None
    if model is not None:
        model_w = serving(b, model, ns=space, latency_ms=(5.0, 80.0), startup_s=(10.0, 90.0))
        model_w.pipeline = stage("model", ())
    store = serving(b, f"{base}-features", ns=space, kind="StatefulSet", role="pipeline",
                    latency_ms=(1.0, 20.0), startup_s=(10.0, 60.0))
    store.pipeline = stage("feature_store", (model_w.service_key,) if model_w else ())
    producer = batch(b, f"{base}-ingest", ns=space)
    producer.role = "pipeline"
    producer.pipeline = stage("producer", (store.service_key,))
    return producer, store, model_w


def settle_timeouts(d: Draft, factor: float = 1.5) -> None:
    """No team ships a timeout below its dependency's steady p99 (it would fail every call from day one):
    raise each call's timeout to ``factor`` times the callee's p99, callees first. Whether it also
    covers a degraded dependency is left to the draw."""
    by_service = d.by_service()
    p99: dict[str, float] = {}
    for w in reversed(d.topological()):
        utilisation = 1.0 / w.headroom if w.headroom else 0.1
        total = w.base_latency_ms / (1.0 - min(utilisation, 0.95))
        for i, c in enumerate(w.calls):
            callee = by_service.get(c.service)
            if callee is None:
                continue
            need = round(factor * p99.get(callee.name, callee.base_latency_ms), -1)
            if c.timeout_ms < need:
                w.calls[i] = dataclasses.replace(c, timeout_ms=need)
            total += p99.get(callee.name, callee.base_latency_ms)
        p99[w.name] = total


# -- nodes ---------------------------------------------------------------------------------------------------


def add_nodes(b: Builder, zones: tuple[str, ...], prefix: str) -> None:
    """Enough general nodes for the pods at 35-60 % CPU, and GPU nodes for the GPU pods plus 0-2 spare;
    then resolve the pins (one node, or the nodes of one zone; GPU workloads are not pinned)."""
    rng, d = b.rng, b.draft
    size = rng.choice((8000, 16000, 16000, 32000))
    cpu = sum(w.cpu_millis * w.replicas for w in d.workloads if not w.gpu_pool)
    widest = max((w.replicas for w in d.workloads if w.spread and not w.gpu_pool), default=1)
    general = max(len(zones) * 2, widest + 1, int(cpu / (size * rng.uniform(0.35, 0.6))) + 1)
    for i in range(general):
        d.add_node(NodeDraft(f"{prefix}-{i + 1:02d}", zones[i % len(zones)], "general", cpu_millis=size,
                             memory_mib=size * 8))
    per_node = rng.choice((4, 8))
    for w in d.workloads:
        if w.gpu_pool:
            w.gpus = min(w.gpus, per_node)
    # The scheduler spreads GPU pods onto the least-allocated nodes, one per node first, so a node per GPU pod
    # is what it takes for every pod to fit whatever the order; then 0 to 2 spare nodes.
    pods = sum(w.replicas for w in d.workloads if w.gpu_pool)
    gpu_nodes = pods + (pick(rng, {0: 0.3, 1: 0.45, 2: 0.25}) if pods else 0)
    for i in range(gpu_nodes):
        d.add_node(NodeDraft(f"{prefix}-gpu-{i + 1:02d}", zones[i % len(zones)], "gpu", cpu_millis=64000,
                             memory_mib=524288, gpus=per_node))
    for w in d.workloads:  # required anti-affinity that the pool cannot satisfy would leave pods Pending
        if w.spread and w.replicas > sum((n.gpus > 0) == w.gpu_pool for n in d.nodes):
            w.spread = False
    _resolve_pins(b, zones)


def _resolve_pins(b: Builder, zones: tuple[str, ...]) -> None:
    rng, d = b.rng, b.draft
    for name, how in b.pins.items():
        w = d.get(name)
        pool = [n for n in d.nodes if n.gpus == 0]
        if not pool or w.gpu_pool:
            continue
        if how == "host":
            w.hosts, w.spread = (rng.choice(pool).name,), False
        else:
            zone = rng.choice(zones)
            in_zone = [n.name for n in pool if n.zone == zone]
            if in_zone:
                w.hosts = tuple(sorted(in_zone))
                w.spread = w.spread and len(in_zone) >= w.replicas
