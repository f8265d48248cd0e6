"""The controllers: Deployment (with rolling updates), StatefulSet, Job, HPA and leader election.

Each reacts ``Timings.controller_s`` after the change it watches, creates or deletes pods through
the cluster, and never touches pods' lifecycles directly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from envs.sim import data, ml
from envs.sim.state import PENDING, Pod, WorkloadState

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def start(sim: SimulatedCluster) -> None:
    from envs.sim.cluster import E_HPA, E_ROLLOUT

    if sim.spec.hpas:
        sim.push(sim.timings.hpa_period_s, E_HPA)
    for ws in sim.wls:
        ws.down_since = None if any(p.alive for p in ws.pods) else 0.0
        w = ws.spec
        if w.rollout_every_s > 0 and w.kind != "Job":
            sim.push(float(sim.rng.exponential(w.rollout_every_s)), E_ROLLOUT, ws)
        if w.leader_failover_s > 0 and ws.pods:
            ws.leader = ws.pods[int(sim.rng.integers(len(ws.pods)))]


def request_reconcile(sim: SimulatedCluster, ws: WorkloadState) -> None:
    from envs.sim.cluster import E_RECONCILE

    if not ws.reconcile_due:
        ws.reconcile_due = True
        sim.push(sim.timings.controller_s, E_RECONCILE, ws)


def reconcile(sim: SimulatedCluster, ws: WorkloadState) -> None:
    ws.reconcile_due = False
    kind = ws.spec.kind
    if kind == "Job":
        if not ws.done:
            for _ in range(ws.desired - len(ws.pods)):
                sim.create_pod(ws)
        return
    if kind == "StatefulSet":
        _reconcile_statefulset(sim, ws)
        return
    if ws.rollout:
        _rollout_step(sim, ws)
        return
    extra = len(ws.pods) - ws.desired
    if extra > 0:
        # ReplicaSet scale-down order: unscheduled, then not ready, then the newest.
        victims = sorted(ws.pods, key=lambda p: (p.phase != PENDING, p.ready, -p.created_s))[:extra]
        for p in victims:
            sim.delete_pod(p, grace_s=ws.spec.template.termination_grace_s)
    for _ in range(-extra):
        sim.create_pod(ws)


def _reconcile_statefulset(sim: SimulatedCluster, ws: WorkloadState) -> None:
    # The controller recreates an ordinal only once the old pod is gone (at-most-one identity).
    have = {p.ordinal for p in ws.pods} | {p.ordinal for p in ws.terminating}
    for p in sorted(ws.pods, key=lambda p: -p.ordinal):
        if p.ordinal >= ws.desired:
            sim.delete_pod(p, grace_s=ws.spec.template.termination_grace_s)
    for k in range(ws.desired):
        if k not in have:
            sim.create_pod(ws, k)
    if ws.rollout:
        old = [p for p in ws.pods if p.rev != ws.rev]
        if not old:
            ws.rollout = not all(p.ready for p in ws.pods)
        elif all(p.ready for p in ws.pods):
            # RollingUpdate: the highest old ordinal, one at a time, once every pod is Ready.
            sim.delete_pod(max(old, key=lambda p: p.ordinal), grace_s=ws.spec.template.termination_grace_s)


def _rollout_step(sim: SimulatedCluster, ws: WorkloadState) -> None:
    w = ws.spec
    new = [p for p in ws.pods if p.rev == ws.rev]
    old = [p for p in ws.pods if p.rev != ws.rev]
    surge = max(0, w.max_surge)
    unavailable = max(0, w.max_unavailable) or (0 if surge else 1)
    if not old and len(new) >= ws.desired and sum(p.ready for p in new) >= ws.desired:
        ws.rollout = False
        return
    for _ in range(min(ws.desired - len(new), ws.desired + surge - len(ws.pods))):
        sim.create_pod(ws)
    budget = sum(p.ready for p in ws.pods) - (ws.desired - unavailable)
    for p in sorted(old, key=lambda p: (p.ready, p.name)):
        if not p.ready:
            sim.delete_pod(p, grace_s=w.template.termination_grace_s)
        elif budget > 0:
            budget -= 1
            sim.delete_pod(p, grace_s=w.template.termination_grace_s)


def start_rollout(sim: SimulatedCluster, ws: WorkloadState) -> None:
    from envs.sim.cluster import E_ROLLOUT

    sim.touch()
    ws.rev += 1
    ws.rollout = True
    request_reconcile(sim, ws)
    sim.push(float(sim.rng.exponential(ws.spec.rollout_every_s)), E_ROLLOUT, ws)


def pod_ready(sim: SimulatedCluster, pod: Pod) -> None:
    ws = sim.wls[pod.w]
    data.pod_ready(ws, pod)
    if ws.rollout:
        request_reconcile(sim, ws)


def pod_alive_changed(sim: SimulatedCluster, ws: WorkloadState, lost: Pod | None = None) -> None:
    """A pod of ``ws`` started or stopped serving: leader election, training, outages and staleness follow."""
    serving = any(p.alive for p in ws.pods)
    if serving:
        ws.down_since = None
    elif ws.down_since is None:
        ws.down_since = sim.t
        for delay in sim.c.outage_checkpoints[ws.i]:
            sim.call_later(delay, sim.touch)  # a cache expires or data turns stale while it stays down
    if ws.spec.leader_failover_s > 0:
        if lost is not None and lost is ws.leader:
            from envs.sim.cluster import E_LEADER

            ws.leader = None
            ws.leader_back_s = sim.t + ws.spec.leader_failover_s
            sim.push(ws.spec.leader_failover_s, E_LEADER, ws)
        elif ws.leader is None and sim.t >= ws.leader_back_s:
            elect(sim, ws)
    if ws.train is not None:
        ml.training_update(sim, ws)


def elect(sim: SimulatedCluster, ws: WorkloadState) -> None:
    """The lease expired: an alive pod takes it (none alive: the first to come up will)."""
    if ws.leader is not None or sim.t < ws.leader_back_s - 1e-9:
        return
    alive = [p for p in ws.pods if p.alive]
    if alive:
        sim.touch()
        ws.leader = alive[int(sim.rng.integers(len(alive)))]


def job_failure(sim: SimulatedCluster, ws: WorkloadState) -> None:
    if ws.done:
        return
    ws.failures += 1
    if ws.failures > sim.timings.job_backoff_limit:
        ws.done = True  # Job Failed: BackoffLimitExceeded; its pods are deleted
        for p in list(ws.pods):
            sim.delete_pod(p, grace_s=0.0)


def hpa_tick(sim: SimulatedCluster) -> None:
    from envs.sim.cluster import E_HPA

    tm = sim.timings
    traffic = sim.traffic()
    for hi, h in enumerate(sim.spec.hpas):
        ws = sim.wls[sim.c.hpa_target[hi]]
        ready = sum(p.ready for p in ws.pods)
        util = traffic.cpu_utilisation[ws.i]
        if ready == 0:
            continue
        ratio = util / h.target_cpu_utilization
        want = ws.desired if abs(ratio - 1.0) <= tm.hpa_tolerance else math.ceil(ready * ratio - 1e-9)
        want = max(h.min_replicas, min(h.max_replicas, want))
        history = sim.hpa_history[hi]
        history.append((sim.t, want))
        while history and history[0][0] < sim.t - tm.hpa_downscale_stabilisation_s:
            history.pop(0)
        if want < ws.desired:
            want = min(ws.desired, max(r for _, r in history))  # scale-down stabilisation window
        if want != ws.desired:
            sim.touch()
            ws.desired = want
            request_reconcile(sim, ws)
    sim.push(tm.hpa_period_s, E_HPA)
