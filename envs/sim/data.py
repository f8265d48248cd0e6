"""Data loss: what a user loses when a datastore's data dies with its pod or its container.

A pod holds its share of the data once it is Ready. Data on the container's own filesystem dies with every
container restart; on an emptyDir it dies with the pod (a memory-backed one also when the node reboots);
on a volume that outlives the pod it survives. Without replication each pod holds its own share, lost
with it; replicas that copy each other lose the data only when the last copy goes (a new replica resyncs
when Ready). The loss is counted in the datastore's unit: ``items / replicas`` per pod when the store's
size is known, else the share of the data. A workload without a datastore record keeps the legacy rule:
a StatefulSet without persistent storage loses one pod's data per deleted pod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.sim.state import Pod, WorkloadState

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def pod_ready(ws: WorkloadState, pod: Pod) -> None:
    """A Ready pod serves, so it holds data (a replica has resynced)."""
    if ws.spec.datastore is not None:
        pod.holds_data = True


def pod_deleted(sim: SimulatedCluster, ws: WorkloadState, pod: Pod) -> None:
    ds = ws.spec.datastore
    if ds is None:
        if ws.spec.kind == "StatefulSet" and not ws.spec.persistent_storage:
            ws.data_lost += 1
    elif ds.loses_data_with_pod:
        _lose(ws, pod)


def container_restarted(sim: SimulatedCluster, ws: WorkloadState, pod: Pod, *, node_rebooted: bool) -> None:
    ds = ws.spec.datastore
    if ds is not None and (ds.loses_data_with_container or (node_rebooted and ds.storage == "memory")):
        _lose(ws, pod)


def _lose(ws: WorkloadState, pod: Pod) -> None:
    if not pod.holds_data:
        return
    pod.holds_data = False
    ds = ws.spec.datastore
    assert ds is not None
    whole = ds.items if ds.items is not None else 1.0
    if ds.replicated:
        if not any(p.holds_data for p in ws.pods if p is not pod):
            ws.data_lost += whole
    else:
        ws.data_lost += whole / max(ws.spec.replicas, 1)
