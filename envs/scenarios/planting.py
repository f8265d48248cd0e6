"""Planting weaknesses: each function deviates from the robust default in one place and returns the
answer-key record (with an empty class id, assigned when the scenario is assembled).

Where a weakness shows on an entry point's availability, several weaknesses share that symptom, so
their weak pods are pinned to known nodes and the triggers name those nodes exactly. Where the
symptom is the weakness's own (a job's progress, a StatefulSet's data, a model's accuracy), every
node the pods may use is listed.
"""

from __future__ import annotations

from envs.faults import FaultKind
from envs.scenarios.draft import WorkloadDraft
from envs.scenarios.records import PlantedWeakness, Trigger, WeaknessKind
from envs.scenarios.topology import FAST_PROBE, LONG_RUN, Site, add_chain, add_job, add_robust_service
from envs.scenarios.triggers import (
    LATENCY_FAULTS,
    WORKLOAD_FAULTS,
    one,
    pairs,
    req,
    singles,
    touching,
)
from envs.spec import Probe, Training

MAX_PROGRESS_LOSS_S = 1800.0
"""ModelSlo.max_training_progress_lost_s default, which the state-dependent planting straddles."""
LEADER_FAILOVER_S = 90.0
PAIR_TIMEOUT_MS = 4000.0
"""A fallback call this patient passes a high jitter (3000 ms) through to its caller's p99."""

F = FaultKind


def _pw(kind: WeaknessKind, violation: str, affected: str, surfacing: tuple[Trigger, ...], description: str,
        p: float = 1.0, *, also: tuple[Trigger, ...] = ()) -> PlantedWeakness:
    """``surfacing`` triggers break it by design (the first is canonical); ``also`` only score for it."""
    return PlantedWeakness("", kind, violation, affected, (*surfacing, *also),  # type: ignore[arg-type]
                           description, p, len(surfacing))


def _node_keys(hosts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"Node/{h}" for h in hosts)


# -- entry points -------------------------------------------------------------------------------------


def entry_exposure(site: Site, entry: WorkloadDraft) -> PlantedWeakness:
    """Every entry point is one: its clients do not retry, so loss, partitions or a silent node reach users."""
    nodes = _node_keys(site.edge_nodes[entry.name])
    net = (F.NETWORK_LOSS, F.NETWORK_PARTITION, F.NETWORK_LATENCY, F.NETWORK_JITTER, F.CPU_STRESS)
    reach = touching(entry.key, nodes, workload_kinds=WORKLOAD_FAULTS)
    surfacing = [one((F.NETWORK_LOSS,), entry.key), one((F.NETWORK_PARTITION,), entry.key)]
    if entry.leader_failover_s <= 0:  # with a leader, losing every pod is the flaky weakness's, for sure
        surfacing.append(one((F.POD_KILL,), entry.key, 2))
    # Which three of the four nodes hold its pods is the scheduler's choice: node failures only score.
    also = (one(net, entry.key), *(one((F.NODE_FAILURE,), n) for n in nodes), *pairs(reach))
    return _pw("shallow", "availability", entry.key, tuple(surfacing),
               "internet-facing entry point: packet loss, a partition, a silent node or losing every pod at once "
               "reaches users directly", also=also)


def flaky_leader(site: Site) -> PlantedWeakness:
    """Leader election on an entry point: killing the leader (p = 1/replicas) stops it for the failover."""
    free = [e for e in site.entries if e.name not in site.leader_entries]
    e = site.rng.choice(free)
    site.leader_entries.add(e.name)
    e.leader_failover_s = LEADER_FAILOVER_S
    nodes = _node_keys(site.edge_nodes[e.name])
    pod = (F.POD_KILL, F.POD_EVICTION, F.CONTAINER_CRASH)
    trig = (one((F.POD_KILL,), e.key), one(pod, e.key), *(one((F.NODE_DRAIN,), n) for n in nodes))
    return _pw("flaky", "availability", e.key, trig,  # each surfaces it when it hits the leader
               f"leader election with a {LEADER_FAILOVER_S:g} s failover: losing the leader pod stops the service",
               p=1.0 / e.replicas)


# -- request path -------------------------------------------------------------------------------------


def shallow_single_replica(site: Site, name: str) -> PlantedWeakness:
    """One replica, no PDB, slow start, called by an entry point without a fallback."""
    rng = site.rng
    host = site.take_exclusive()
    w = site.draft.add(WorkloadDraft(
        namespace=site.ns, name=name, replicas=1, spread=False, hosts=(host,), pdb_min_available=None,
        startup_s=float(rng.choice((30, 45, 60))), probe=Probe(initial_delay_s=10.0, period_s=10.0),
        base_latency_ms=float(rng.choice((10, 20, 30)))))
    e = site.critical_entry()
    site.draft.call(e, w, timeout_ms=float(rng.choice((300, 500, 1000))), retries=rng.choice((0, 1)),
                    fallback=False)
    node = f"Node/{host}"
    surfacing = (one((F.POD_KILL,), w.key),
                 one((F.POD_EVICTION, F.CONTAINER_CRASH, F.NETWORK_PARTITION), w.key),
                 one((F.NODE_FAILURE, F.NODE_DRAIN), node))
    return _pw("shallow", "availability", e.key, surfacing,
               "a single replica without PDB on the request path, called without a fallback",
               also=singles(touching(w.key, (node,))))


def tight_timeout(site: Site, name: str) -> PlantedWeakness:
    """A robust dependency whose caller's timeout sits just above its p99: only medium+ latency breaks it."""
    rng = site.rng
    hosts = site.shared_set(4)
    w = site.draft.add(WorkloadDraft(
        namespace=site.ns, name=name, hosts=hosts, startup_s=5.0, probe=FAST_PROBE,
        base_latency_ms=float(rng.choice((10, 20, 30)))))
    e = site.critical_entry()
    site.draft.call(e, w, timeout_ms=w.base_latency_ms + 250.0, retries=4, fallback=False)
    reach = touching(w.key, _node_keys(hosts))
    surfacing = (one((F.NETWORK_LATENCY,), w.key, 1), one((F.NETWORK_JITTER,), w.key, 1),
                 one((F.NETWORK_PARTITION,), w.key, 1), one((F.NETWORK_LOSS,), w.key, 2))
    return _pw("intensity", "availability", e.key, surfacing,
               "called without fallback and with a timeout just above its p99: medium latency or more times out",
               also=(one(WORKLOAD_FAULTS, w.key, 1), *pairs(reach)))


def colocated(site: Site, name: str) -> PlantedWeakness:
    """Three replicas pinned to one node: any pod fault is absorbed, the node is the shared dependency."""
    rng = site.rng
    host = site.take_exclusive()
    w = site.draft.add(WorkloadDraft(
        namespace=site.ns, name=name, hosts=(host,), spread=False, startup_s=5.0, probe=FAST_PROBE,
        base_latency_ms=float(rng.choice((10, 20)))))
    e = site.critical_entry()
    site.draft.call(e, w, timeout_ms=600.0, retries=4, fallback=False)
    node = f"Node/{host}"
    reach = touching(w.key, (node,))
    surfacing = (one((F.NODE_FAILURE,), node), one((F.NODE_DRAIN,), node, 2))
    return _pw("two_fault", "availability", e.key, surfacing,
               "every replica pinned to one node: the node's failure takes them all",
               also=(one(WORKLOAD_FAULTS, w.key, 1), *pairs(reach)))


def latency_pair(site: Site, names: tuple[str, str]) -> PlantedWeakness:
    """Two fallback calls with long timeouts: one slow dependency fits the p99 budget, two do not."""
    free = [e for e in site.entries if e.name not in site.pair_entries and not any(
        not c.fallback for c in e.calls)] or [e for e in site.entries if e.name not in site.pair_entries]
    e = site.rng.choice(free)
    site.pair_entries.add(e.name)
    a = add_robust_service(site, names[0], caller=e, timeout_ms=PAIR_TIMEOUT_MS, retries=1)
    b = add_robust_service(site, names[1], caller=e, timeout_ms=PAIR_TIMEOUT_MS, retries=1)
    reach = tuple(req(LATENCY_FAULTS, t) for t in (e.key, a.key, b.key))
    canonical = Trigger((req((F.NETWORK_JITTER,), a.key, 2), req((F.NETWORK_JITTER,), b.key, 2)))
    return _pw("two_fault", "latency", e.key, (canonical,),
               "two dependencies called with long timeouts: both slow at once exceed the p99 budget",
               also=pairs(reach))


# -- stateful and ML ----------------------------------------------------------------------------------


def stateful_no_volume(site: Site, name: str) -> PlantedWeakness:
    """A StatefulSet keeping its data on the pod: any lost pod loses data."""
    w = add_robust_service(site, name, kind="db")
    w.persistent = False
    reach = touching(w.key, site.draft.nodes_for(w))
    return _pw("shallow", "data_loss", w.key, (one((F.POD_KILL,), w.key), one((F.POD_EVICTION,), w.key)),
               "a StatefulSet without persistent volumes: a deleted or evicted pod loses its data",
               also=singles(reach))


def _job_surfacing(job: WorkloadDraft, node: str, canonical: Trigger) -> tuple[Trigger, ...]:
    return (canonical, one((F.POD_KILL, F.POD_EVICTION, F.CONTAINER_CRASH), job.key),
            one((F.GPU_MEMORY_PRESSURE,), job.key, 1), one((F.GPU_DEVICE_FAILURE, F.NODE_FAILURE), node))


def _job_also(job: WorkloadDraft, node: str) -> tuple[Trigger, ...]:
    return singles(touching(job.key, (node,)))


def gpu_no_checkpoint(site: Site, name: str) -> PlantedWeakness:
    job, node = add_job(site, name, Training(epochs=LONG_RUN.epochs, epoch_s=LONG_RUN.epoch_s,
                                             checkpoint_interval_s=None))
    canonical = one((F.GPU_DEVICE_FAILURE,), node.key)
    return _pw("ml", "training_progress", job.key, _job_surfacing(job, node.key, canonical),
               "a GPU training job that never checkpoints: any GPU or pod failure restarts it from zero",
               also=_job_also(job, node.key))


def checkpoint_gap(site: Site, name: str) -> PlantedWeakness:
    """Checkpoints rarer than the progress the job may lose: only late in an interval does a fault break it."""
    interval = float(site.rng.choice((2700, 3600, 4800)))
    job, node = add_job(site, name, Training(epochs=LONG_RUN.epochs, epoch_s=LONG_RUN.epoch_s,
                                             checkpoint_interval_s=interval))
    canonical = one((F.POD_KILL,), job.key)
    return _pw("state_dependent", "training_progress", job.key, _job_surfacing(job, node.key, canonical),
               f"checkpoints every {interval:g} s: a failure late in the interval loses more than allowed",
               p=(interval - MAX_PROGRESS_LOSS_S) / interval, also=_job_also(job, node.key))


def unmonitored_drift(site: Site, base: str, model: str) -> PlantedWeakness:
    stages = add_chain(site, base, model, drift_monitor=False)
    trig = tuple(one((F.DATA_DRIFT,), s.key, 1) for s in stages)
    return _pw("ml", "undetected_drift", stages[2].key, trig,
               "no drift monitor anywhere on the pipeline: a shifted feature silently degrades the model")


def unchecked_rows(site: Site, base: str, model: str) -> PlantedWeakness:
    stages = add_chain(site, base, model, schema_check=False)
    trig = tuple(one((F.CORRUPTED_ROWS,), s.key, 1) for s in stages)
    return _pw("ml", "data_quality", stages[2].key, trig,
               "no schema check on the pipeline: corrupted rows reach the model")


def stale_ingestion(site: Site, base: str, model: str) -> PlantedWeakness:
    stages = add_chain(site, base, model, max_staleness_s=900.0)
    trig = tuple(one((F.DELAYED_INGESTION,), s.key, 1) for s in stages)
    return _pw("ml", "data_quality", stages[2].key, trig,
               "the model tolerates 15 minutes of staleness: a delayed ingestion beyond it feeds stale data")
