"""Training progress and checkpoints, GPU memory OOMs, and the data-pipeline quality signals.

Training progress is analytic: it advances while every pod of the job runs, and a failure rolls it
back to the newest checkpoint (a multiple of ``checkpoint_interval_s`` of progress).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from envs.sim.state import SUCCEEDED, Pod, TrainingState, WorkloadState

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster

BASE_ACCURACY = 0.92
DRIFT_PENALTY = 0.04
"""Accuracy lost per squared sigma of drift reaching a model."""
MIN_ACCURACY = 0.5
DRIFT_ALERT_SIGMA = 1.0
DEFAULT_GPU_MEMORY_FRACTION = 0.6
"""Framebuffer share assumed for a GPU pod that is not a training job."""


def start(sim: SimulatedCluster) -> None:
    """Training jobs start mid-run, at a progress drawn from the seed, so losses are realistic."""
    for ws in sim.wls:
        tr = ws.spec.training
        if tr is None:
            continue
        total = tr.epochs * tr.epoch_s
        base = float(sim.rng.uniform(0.0, 0.5 * total))
        ws.train = TrainingState(total, base)
        training_update(sim, ws)


def progress(sim: SimulatedCluster, tr: TrainingState) -> float:
    return tr.base + (sim.t - tr.run_start) if tr.run_start is not None else tr.base


def training_update(sim: SimulatedCluster, ws: WorkloadState) -> None:
    from envs.sim.cluster import E_TRAIN_DONE

    tr = ws.train
    if tr is None or tr.completed:
        return
    running = ws.desired > 0 and not ws.done and sum(p.alive for p in ws.pods) >= ws.desired
    if running and tr.run_start is None:
        tr.run_start = sim.t
        tr.gen += 1
        sim.push(tr.total - tr.base, E_TRAIN_DONE, ws, tr.gen)
    elif not running and tr.run_start is not None:
        _fail(sim, ws, tr)


def _fail(sim: SimulatedCluster, ws: WorkloadState, tr: TrainingState) -> None:
    sim.touch()
    p = progress(sim, tr)
    interval = ws.spec.training.checkpoint_interval_s if ws.spec.training else None
    ck = math.floor(p / interval) * interval if interval else 0.0
    tr.lost_s += p - ck
    tr.base = ck
    tr.run_start = None
    tr.gen += 1


def seconds_since_checkpoint(sim: SimulatedCluster, ws: WorkloadState) -> float | None:
    """Seconds of training progress since the newest checkpoint: what a failure now would lose (a training
    dashboard's steps since the last checkpoint, in seconds). A job restarted from a checkpoint starts again
    from zero, however old the checkpoint file is. None for a job that does not checkpoint."""
    tr = ws.train
    interval = ws.spec.training.checkpoint_interval_s if ws.spec.training else None
    if tr is None or not interval:
        return None
    if tr.completed:
        return 0.0
    p = progress(sim, tr)
    return p - math.floor(p / interval) * interval


def training_done(sim: SimulatedCluster, ws: WorkloadState, gen: int) -> None:
    from envs.sim.scheduler import release

    tr = ws.train
    if tr is None or tr.gen != gen or tr.run_start is None:
        return
    sim.touch()
    tr.base, tr.run_start, tr.completed = tr.total, None, True
    ws.done = True
    for pod in ws.pods:
        pod.phase, pod.ready, pod.alive = SUCCEEDED, False, False
        pod.gen += 1
        release(sim.c, pod)
    ws.pods = []
    sim.request_schedule()


def gpu_oom(ws: WorkloadState, pod: Pod) -> bool:
    """Another process holds more framebuffer than the job leaves free: CUDA out of memory."""
    if not pod.gpus or ws.gpu_pressure <= 0:
        return False
    tr = ws.spec.training
    fraction = tr.gpu_memory_fraction if tr else DEFAULT_GPU_MEMORY_FRACTION
    return ws.gpu_pressure > 1.0 - fraction + 1e-12


def pipeline_signals(sim: SimulatedCluster) -> tuple[dict[str, float], dict[str, bool], dict[str, float]]:
    """(accuracy per model, drift detected per pipeline stage, bad-row share per model)."""
    c = sim.c
    wls = sim.wls
    drift2 = {i: 0.0 for i in c.pipelines}
    corrupt_ok = {m: 1.0 for m in c.models}
    stale = dict.fromkeys(c.models, False)
    for a in c.pipelines:
        ws = wls[a]
        if ws.drift:
            for b in c.drift_reach[a]:
                drift2[b] += ws.drift**2
        if ws.corrupt:
            for m in c.corrupt_reach[a]:
                corrupt_ok[m] *= 1.0 - ws.corrupt
        # Data reaching a model is as old as the ingestion delay, or as the outage of a stage on its way.
        age = max(ws.delay_s, sim.t - ws.down_since if ws.down_since is not None else 0.0)
        if age:
            for m in c.drift_reach[a]:
                bound = wls[m].spec.pipeline
                outage_only = m == a and not ws.delay_s  # a model that is down serves nothing stale
                if m in stale and bound is not None and not outage_only and age > bound.max_staleness_s:
                    stale[m] = True
    accuracy = {}
    bad = {}
    for m in c.models:
        key = wls[m].spec.key
        accuracy[key] = max(MIN_ACCURACY, BASE_ACCURACY - DRIFT_PENALTY * drift2[m])
        bad[key] = 1.0 if stale[m] else 1.0 - corrupt_ok[m]
    detected = {
        wls[a].spec.key: any(drift2[m] > DRIFT_ALERT_SIGMA**2 for m in c.related_monitors[a])
        for a in c.pipelines
    }
    return accuracy, detected, bad


def drift_score(sim: SimulatedCluster) -> dict[int, float]:
    """Sigma of drift seen at each pipeline stage (the ``feature_drift_score`` gauge)."""
    c = sim.c
    drift2 = {i: 0.0 for i in c.pipelines}
    for a in c.pipelines:
        d = sim.wls[a].drift
        if d:
            for b in c.drift_reach[a]:
                drift2[b] += d * d
    return {i: math.sqrt(v) for i, v in drift2.items()}
