"""The robust parts of a scenario and the decoys, placed on a ``Site`` the planters share.

Robust means every single fault at every intensity is tolerated: three replicas spread over hosts
(and preferably zones) with a PDB, calls with timeouts, retries and a fallback, capacity for 95 %
CPU stress, StatefulSets on persistent volumes, training jobs that checkpoint every 10 minutes,
pipelines with a drift monitor, a schema check and a staleness bound above the longest delay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from envs.scenarios.draft import Draft, NodeDraft, WorkloadDraft
from envs.scenarios.names import Names
from envs.scenarios.records import Decoy
from envs.spec import Pipeline, Probe, Training

ROBUST_CHECKPOINT_S = 600.0
ROBUST_STALENESS_S = 7200.0
"""Above the longest delayed-ingestion fault (3600 s)."""
LONG_RUN = Training(epochs=2000, epoch_s=900.0, checkpoint_interval_s=ROBUST_CHECKPOINT_S)
"""A long training run: it never finishes within an episode, so a restart always costs progress."""
ENTRY_PROBE = Probe(initial_delay_s=2.0, period_s=5.0)
FAST_PROBE = Probe(initial_delay_s=2.0, period_s=5.0)
EDGE_NODES = 4
"""Nodes an entry point may use: one more than its replicas, so a killed pod is replaced at once."""


@dataclass
class Site:
    """The draft plus what the planters draw from: randomness, names, entry points and free nodes."""

    draft: Draft
    rng: random.Random
    names: Names
    ns: str
    ml_ns: str
    entries: list[WorkloadDraft] = field(default_factory=list)
    edge_nodes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Entry name -> hostnames it runs on."""
    exclusive_nodes: list[str] = field(default_factory=list)
    """Hostnames reserved for one pinned weak workload each."""
    shared_nodes: list[str] = field(default_factory=list)
    gpu_free: list[NodeDraft] = field(default_factory=list)
    pair_entries: set[str] = field(default_factory=set)
    """Entries carrying a latency-budget pair: they get no critical (no-fallback) call."""
    leader_entries: set[str] = field(default_factory=set)
    callers: list[WorkloadDraft] = field(default_factory=list)
    """Robust serving workloads that may call a new robust dependency."""

    def take_exclusive(self) -> str:
        if not self.exclusive_nodes:
            raise ValueError("the site ran out of exclusive nodes; the generator must reserve one per pin")
        return self.exclusive_nodes.pop(0)

    def shared_set(self, n: int) -> tuple[str, ...]:
        return tuple(sorted(self.rng.sample(self.shared_nodes, n)))

    def take_gpu(self) -> NodeDraft:
        if not self.gpu_free:
            raise ValueError("the site ran out of GPU nodes; the generator must reserve one per job")
        return self.gpu_free.pop(0)

    def critical_entry(self) -> WorkloadDraft:
        """An entry point for a critical call, avoiding entries with a latency pair."""
        plain = [e for e in self.entries if e.name not in self.pair_entries]
        return self.rng.choice(plain or self.entries)


def add_entry(site: Site, name: str, load_rps: float, hosts: tuple[str, ...]) -> WorkloadDraft:
    e = site.draft.add(WorkloadDraft(
        namespace=site.ns, name=name, entry=True, load_rps=load_rps, startup_s=3.0, probe=ENTRY_PROBE,
        hosts=hosts, base_latency_ms=float(site.rng.choice((10, 15, 20, 25))), cpu_millis=500,
    ))
    site.entries.append(e)
    site.edge_nodes[name] = hosts
    site.callers.append(e)
    return e


def add_robust_service(site: Site, name: str, *, kind: str = "service", caller: WorkloadDraft | None = None,
                       timeout_ms: float | None = None, retries: int | None = None) -> WorkloadDraft:
    """A robust dependency (API, cache or database) called with a fallback by ``caller`` (or a random one)."""
    rng = site.rng
    w = WorkloadDraft(namespace=site.ns, name=name, startup_s=float(rng.choice((8, 12, 20, 30))),
                      base_latency_ms=float(rng.choice((5, 10, 20, 30, 40))),
                      hpa=kind == "service" and rng.random() < 0.3)
    if kind == "cache":
        w.role, w.base_latency_ms, w.memory_mib = "cache", 2.0, 2048
    elif kind == "db":
        w.kind, w.persistent, w.memory_mib, w.startup_s = "StatefulSet", True, 4096, 30.0
    site.draft.add(w)
    if site.callers:
        src = caller or rng.choice(site.callers)
        site.draft.call(src, w, timeout_ms=timeout_ms or float(rng.choice((300, 400, 500, 800))),
                        retries=rng.choice((1, 2)) if retries is None else retries, fallback=True)
    if kind == "service":
        site.callers.append(w)
    return w


def add_chain(site: Site, base: str, model: str, *, drift_monitor: bool = True, schema_check: bool = True,
              max_staleness_s: float = ROBUST_STALENESS_S) -> tuple[WorkloadDraft, WorkloadDraft, WorkloadDraft]:
    """producer -> feature store -> model; the model serves predictions to an entry point with a fallback."""
    d, ns = site.draft, site.ml_ns
    model_w = d.add(WorkloadDraft(
        namespace=ns, name=model, startup_s=20.0, base_latency_ms=30.0, memory_mib=4096,
        pipeline=Pipeline("model", drift_monitor=drift_monitor, schema_check=schema_check,
                          max_staleness_s=max_staleness_s)))
    store = d.add(WorkloadDraft(
        namespace=ns, name=f"{base}-features", kind="StatefulSet", persistent=True, role="pipeline",
        startup_s=30.0, memory_mib=8192,
        pipeline=Pipeline("feature_store", feeds=(model_w.service_key,), drift_monitor=drift_monitor,
                          schema_check=schema_check, max_staleness_s=max_staleness_s)))
    producer = d.add(WorkloadDraft(
        namespace=ns, name=f"{base}-ingest", role="pipeline", startup_s=15.0, service=False,
        pipeline=Pipeline("producer", feeds=(store.service_key,), max_staleness_s=max_staleness_s)))
    if site.entries:
        d.call(site.rng.choice(site.entries), model_w, timeout_ms=float(site.rng.choice((300, 500))),
               retries=1, fallback=True)
    return producer, store, model_w


def add_job(site: Site, name: str, training: Training) -> tuple[WorkloadDraft, NodeDraft]:
    """A GPU training Job pinned to one GPU node and using all of its devices."""
    node = site.take_gpu()
    job = site.draft.add(WorkloadDraft(
        namespace=site.ml_ns, name=name, kind="Job", replicas=1, role="training", gpus=node.gpus,
        cpu_millis=4000, memory_mib=16384, startup_s=60.0, probe=None, spread=False, hosts=(node.name,),
        gpu_pool=True, training=training, pdb_min_available=None, service=False))
    return job, node


# -- decoys -------------------------------------------------------------------------------------------

DECOY_KINDS = ("single_behind_fallback", "batch_worker", "report_pipeline", "single_sts_pvc", "short_job")


def add_decoy(site: Site, kind: str, name: str | None = None) -> Decoy:
    """Plant one decoy of ``kind``, named ``name`` (or drawn from the site's names)."""
    rng, d, names = site.rng, site.draft, site.names

    def pick(category: str) -> str:
        return name or names.take(category)

    if kind == "single_behind_fallback":
        w = add_robust_service(site, pick("cache" if rng.random() < 0.5 else "service"), kind="cache",
                               caller=rng.choice(site.callers) if site.callers else None)
        w.replicas, w.pdb_min_available, w.spread, w.hpa = 1, None, False, False
        return Decoy(w.key, "one replica and no PDB, but every caller answers from a fallback")
    if kind == "single_sts_pvc":
        w = add_robust_service(site, pick("db"), kind="db")
        w.replicas, w.pdb_min_available, w.spread = 1, None, False
        return Decoy(w.key, "a single-replica StatefulSet without PDB, on a persistent volume, behind a fallback")
    if kind == "batch_worker":
        w = d.add(WorkloadDraft(namespace=site.ns, name=pick("batch"), replicas=1, role="batch",
                                service=False, pdb_min_available=None, spread=False, startup_s=30.0))
        return Decoy(w.key, "one replica and no PDB, but off every request path")
    if kind == "report_pipeline":
        base = pick("pipeline")
        store = d.add(WorkloadDraft(
            namespace=site.ml_ns, name=f"{base}-report", role="pipeline", replicas=1, pdb_min_available=None,
            spread=False, startup_s=20.0, pipeline=Pipeline("feature_store", max_staleness_s=600.0)))
        producer = d.add(WorkloadDraft(
            namespace=site.ml_ns, name=f"{base}-export", role="pipeline", replicas=1, pdb_min_available=None,
            spread=False, service=False, pipeline=Pipeline("producer", feeds=(store.service_key,))))
        return Decoy(producer.key, "no drift monitor, schema check or freshness bound, but it feeds only a report")
    if kind == "short_job":
        w = d.add(WorkloadDraft(
            namespace=site.ml_ns, name=pick("job"), kind="Job", replicas=1, role="training",
            cpu_millis=2000, memory_mib=4096, startup_s=30.0, probe=None, spread=False,
            training=Training(epochs=2, epoch_s=300.0, checkpoint_interval_s=None, gpu_memory_fraction=0.3),
            pdb_min_available=None, service=False))
        return Decoy(w.key, "no checkpoints, but the whole run is shorter than the progress it may lose")
    raise ValueError(f"unknown decoy kind {kind!r}; known: {', '.join(DECOY_KINDS)}")
