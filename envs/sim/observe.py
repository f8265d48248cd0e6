"""What the simulator shows: the snapshot (kubectl's view), the steady-state sample, the pod list.

The sample is cached until the state changes, so sampling every 15 s of a quiet cluster is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.cluster import ClusterState, NodeStatus, SteadyStateSample, WorkloadStatus
from envs.sim import ml
from envs.sim.state import PENDING, RUNNING, STARTING, SUCCEEDED, TERMINATING, Pod, PodStatus, PodView

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def sample(sim: SimulatedCluster) -> SteadyStateSample:
    """The signals now; availability and latency over the window since the previous sample."""
    now = instant(sim)
    window = sim.window.close(sim)
    if window is None:
        return now
    availability, latency = window
    return SteadyStateSample(
        now.time_s, availability, latency, now.training_progress_lost_s, now.data_lost,
        now.accuracy, now.drift_detected, now.bad_rows,
    )


def instant(sim: SimulatedCluster) -> SteadyStateSample:
    cached = sim.cached_sample()
    if cached is None:
        tr = sim.traffic()
        accuracy, detected, bad = ml.pipeline_signals(sim)
        cached = SteadyStateSample(
            time_s=sim.t,
            availability=tr.availability,
            latency_p99_ms=tr.latency_p99_ms,
            training_progress_lost_s={ws.spec.key: ws.train.lost_s for ws in sim.wls if ws.train},
            data_lost={ws.spec.key: ws.data_lost for ws in sim.wls if ws.spec.tracks_data_loss},
            accuracy=accuracy,
            drift_detected=detected,
            bad_rows=bad,
        )
        sim.store_sample(cached)
        return cached
    return SteadyStateSample(
        sim.t, cached.availability, cached.latency_p99_ms, cached.training_progress_lost_s,
        cached.data_lost, cached.accuracy, cached.drift_detected, cached.bad_rows,
    )


def snapshot(sim: SimulatedCluster) -> ClusterState:
    workloads = {}
    for ws in sim.wls:
        by_node: dict[str, int] = {}
        ready = restarts = pending = 0
        for p in ws.pods:
            if p.node is not None:
                by_node[p.node.name] = by_node.get(p.node.name, 0) + 1
            else:
                pending += 1
            ready += p.ready
            restarts += p.restarts
        workloads[ws.spec.key] = WorkloadStatus(
            key=ws.spec.key, desired=ws.desired, ready=ready, pods_by_node=tuple(sorted(by_node.items())),
            rollout_in_progress=ws.rollout, restarts=restarts, pending=pending,
            seconds_since_checkpoint=ml.seconds_since_checkpoint(sim, ws),
        )
    nodes = {
        n.spec.key: NodeStatus(n.spec.key, ready=n.ready, schedulable=not n.cordoned,
                               gpus_allocatable=n.gpus_allocatable)
        for n in sim.nodes
    }
    return ClusterState(spec=sim.spec, workloads=workloads, nodes=nodes, time_s=sim.t)


def status(pod: Pod) -> PodStatus:
    if pod.phase == PENDING:
        return "Pending"
    if pod.phase == STARTING:
        if pod.backoff:
            return "CrashLoopBackOff"
        return "ContainerCreating" if pod.restarts == 0 else "Running"
    if pod.phase == RUNNING:
        return "Running"
    if pod.phase == TERMINATING:
        return "Terminating"
    return "Succeeded" if pod.phase == SUCCEEDED else "Failed"


def all_pods(sim: SimulatedCluster) -> list[Pod]:
    """Pods the API server lists: the workloads' pods and those still terminating on a node."""
    seen = [p for ws in sim.wls for p in ws.pods]
    seen += [p for n in sim.nodes for p in n.pods if p.phase == TERMINATING]
    return sorted(seen, key=lambda p: p.name)


def pod_views(sim: SimulatedCluster) -> list[PodView]:
    keys = [ws.spec.key for ws in sim.wls]
    return [
        PodView(p.name, keys[p.w], p.node.name if p.node else None, status(p), p.ready, p.restarts, p.gpus)
        for p in all_pods(sim)
    ]
