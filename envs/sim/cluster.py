"""``SimulatedCluster``: a discrete-event Kubernetes cluster in simulated time.

The event loop, pod and node lifecycles live here; controllers, the traffic model, ML signals,
faults and observation live in sibling modules and act on this object. See docs/simulator.md.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from envs.cluster import ClusterState, Injection, SteadyStateSample
from envs.faults import Fault
from envs.sim import controllers, data, lifecycle, ml, observe
from envs.sim.compiled import CompiledSpec, compile_spec
from envs.sim.errors import SimulationError
from envs.sim.scheduler import bind, find_node, release
from envs.sim.state import PENDING, RUNNING, STARTING, TERMINATING, Node, Pod, PodView, WorkloadState
from envs.sim.timings import Timings
from envs.sim.traffic import Traffic, evaluate
from envs.sim.window import SignalWindow
from envs.spec import ClusterSpec

if TYPE_CHECKING:
    from envs.sim.metrics import MetricsState

# Event kinds.
(E_RECONCILE, E_SCHEDULE, E_UP, E_READY, E_RESTART, E_TERMINATED, E_NOT_READY, E_EVICT, E_HPA,
 E_ROLLOUT, E_TRAIN_DONE, E_LEADER, E_CALL, E_SERVING, E_PROBE_KILL) = range(15)

Undo = Callable[[], None]
DEFAULT_TIMINGS = Timings()


class SimulatedCluster:
    """A simulated cluster implementing ``ClusterBackend`` and ``SteadyStateSource``."""

    def __init__(self, spec: ClusterSpec, *, seed: int, timings: Timings = DEFAULT_TIMINGS,
                 compiled: CompiledSpec | None = None) -> None:
        self.spec = spec
        # Calibrated fields are all float seconds; mypy sees Timings' one int field in the union of types.
        self.timings = dataclasses.replace(timings, **dict(spec.calibrated)) if spec.calibrated else timings  # type: ignore[arg-type]
        self.c = compiled if compiled is not None else compile_spec(spec)
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.t = 0.0
        self._heap: list[tuple[float, int, int, object, int]] = []
        self._seq = 0
        self.nodes = [Node(i, n) for i, n in enumerate(spec.nodes)]
        self.wls = [WorkloadState(i, w) for i, w in enumerate(spec.workloads)]
        self.pending: list[Pod] = []
        self._schedule_due = False
        self.active: dict[str, tuple[Fault, Undo]] = {}
        """Injection id -> (fault, its revert), for every applied fault not yet reverted or expired."""
        self.dirty = True
        self._traffic: Traffic | None = None
        self.version = 0
        """Bumped on inject, revert and every signal change; with the time it keys the snapshot cache (state
        changes only through wait, inject and revert)."""
        self._snapshot: tuple[float, int, ClusterState] | None = None
        self.window = SignalWindow(0.0)
        """Request signals integrated since the previous sample (see envs/sim/window.py)."""
        self._sample: SteadyStateSample | None = None
        self.metrics_state: MetricsState | None = None
        """Counters of ``metrics_text``, created on its first call (the sample path never pays)."""
        self.hpa_history: list[list[tuple[float, int]]] = [[] for _ in spec.hpas]
        self._place_initial()
        controllers.start(self)
        ml.start(self)

    # -- the protocols ------------------------------------------------------------------------------

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float) -> None:
        if seconds < 0:
            raise SimulationError(f"wait() needs seconds >= 0, got {seconds}")
        end = self.t + seconds
        heap = self._heap
        while heap and heap[0][0] <= end:
            t, _, kind, obj, gen = heapq.heappop(heap)
            self.t = t
            self._dispatch(kind, obj, gen)
        self.t = end

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        from envs.sim.faults import apply_fault

        self.version += 1
        return apply_fault(self, fault, injection_id)

    def revert(self, injection: Injection) -> None:
        self.version += 1
        entry = self.active.get(injection.id)
        if entry is not None and entry[0] == injection.fault:  # not a later injection reusing the id
            del self.active[injection.id]
            entry[1]()

    def snapshot(self) -> ClusterState:
        cached = self._snapshot
        if cached is not None and cached[0] == self.t and cached[1] == self.version:
            return cached[2]
        state = observe.snapshot(self)
        self._snapshot = (self.t, self.version, state)
        return state

    def converged(self) -> bool:
        """Every workload at its desired ready count and every node ready (cheaper than a snapshot). A Job
        that has finished (or failed for good) has nothing left to converge."""
        return all(n.ready for n in self.nodes) and all(
            ws.done or sum(p.ready for p in ws.pods) >= ws.desired for ws in self.wls)

    def sample(self) -> SteadyStateSample:
        """The steady-state signals, request signals over the window since the previous sample."""
        return observe.sample(self)

    def instant(self) -> SteadyStateSample:
        """The signals at this instant (no window): for tests of exact timings, and for reports."""
        return observe.instant(self)

    def pods(self) -> list[PodView]:
        return observe.pod_views(self)

    def metrics_text(self) -> str:
        from envs.sim.metrics import metrics_text

        return metrics_text(self)

    # -- events -------------------------------------------------------------------------------------

    def push(self, delay: float, kind: int, obj: object = None, gen: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (self.t + delay, self._seq, kind, obj, gen))

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.push(delay, E_CALL, fn)

    def _dispatch(self, kind: int, obj: object, gen: int) -> None:
        if kind == E_CALL:
            obj()  # type: ignore[operator]
        elif kind == E_RECONCILE:
            controllers.reconcile(self, obj)  # type: ignore[arg-type]
        elif kind == E_SCHEDULE:
            self._schedule()
        elif kind == E_HPA:
            controllers.hpa_tick(self)
        elif kind == E_ROLLOUT:
            controllers.start_rollout(self, obj)  # type: ignore[arg-type]
        elif kind == E_TRAIN_DONE:
            ml.training_done(self, obj, gen)  # type: ignore[arg-type]
        elif kind == E_LEADER:
            controllers.elect(self, obj)  # type: ignore[arg-type]
        elif kind in (E_NOT_READY, E_EVICT):
            node: Node = obj  # type: ignore[assignment]
            if node.gen == gen:
                self._node_not_ready(node) if kind == E_NOT_READY else self._node_evict(node)
        else:
            pod: Pod = obj  # type: ignore[assignment]
            if pod.gen != gen:
                return
            if kind == E_UP:
                self._container_up(pod)
            elif kind == E_READY:
                self.touch()
                pod.ready = True
                controllers.pod_ready(self, pod)
            elif kind == E_RESTART:
                pod.backoff = False
                pod.restarts += 1
                self._start_container(pod)
            elif kind == E_TERMINATED:
                self._terminated(pod)
            elif kind == E_SERVING:
                self._serving(pod)
            elif kind == E_PROBE_KILL:
                self.crash(pod)

    def touch(self) -> None:
        """Call before changing anything the signals depend on: settles counters, drops caches.

        Settling evaluates the state still in force (before the change), so counters integrate the
        right rate over every interval between changes.
        """
        if self.metrics_state is not None:
            from envs.sim.metrics import settle

            settle(self)
        self.window.settle(self)
        self.dirty = True
        self.version += 1

    def traffic(self) -> Traffic:
        if self.dirty or self._traffic is None:
            self._traffic = evaluate(self)
            self.dirty = False
            self._sample = None
        return self._traffic

    # -- initial state ------------------------------------------------------------------------------

    def _place_initial(self) -> None:
        c = self.c
        plan = c.initial_placement
        if plan is None:
            plan = []
            for ws in self.wls:
                for k in range(ws.desired):
                    pod = self._new_pod(ws, k)
                    node = find_node(c, self.nodes, self.wls, pod)
                    if node is not None:
                        bind(c, pod, node)
                    plan.append((ws.i, node.i if node else -1, pod.gpus))
            c.initial_placement = plan
        else:
            ordinal = [0] * len(self.wls)
            for wi, ni, gpus in plan:
                ws = self.wls[wi]
                pod = self._new_pod(ws, ordinal[wi])
                ordinal[wi] += 1
                if ni >= 0:
                    node = self.nodes[ni]
                    pod.node = node
                    node.pods.add(pod)
                    t = ws.spec.template
                    node.used_cpu += t.cpu_millis
                    node.used_mem += t.memory_mib
                    for d in gpus:
                        node.gpu_owner[d] = pod
                    pod.gpus = gpus
        for ws in self.wls:
            for pod in ws.pods:
                if pod.node is None:
                    self.pending.append(pod)
                else:
                    pod.phase, pod.ready, pod.alive, pod.up_since = RUNNING, True, True, -1e9
                    data.pod_ready(ws, pod)
        if self.pending:
            self.request_schedule()

    # -- pods ---------------------------------------------------------------------------------------

    def _new_pod(self, ws: WorkloadState, ordinal: int) -> Pod:
        w = ws.spec
        ws.names += 1
        if w.kind == "StatefulSet":
            name = f"{w.name}-{ordinal}"
        elif w.kind == "Deployment":
            name = f"{w.name}-{_suffix(ws.rev * 7919 + ws.i, 10)}-{_suffix(ws.names, 5)}"
        else:
            name = f"{w.name}-{_suffix(ws.names, 5)}"
        pod = Pod(name, ws.i, ordinal, ws.rev, self.t)
        ws.pods.append(pod)
        return pod

    def create_pod(self, ws: WorkloadState, ordinal: int = 0) -> Pod:
        pod = self._new_pod(ws, ordinal)
        self.pending.append(pod)
        self.request_schedule()
        return pod

    def request_schedule(self) -> None:
        if self.pending and not self._schedule_due:
            self._schedule_due = True
            self.push(self.timings.scheduling_s, E_SCHEDULE)

    def _schedule(self) -> None:
        self._schedule_due = False
        still: list[Pod] = []
        for pod in self.pending:
            node = find_node(self.c, self.nodes, self.wls, pod)
            if node is None:
                still.append(pod)
                continue
            bind(self.c, pod, node)
            pod.phase = STARTING
            if not node.down:
                self._start_container(pod)
        self.pending = still

    def _start_container(self, pod: Pod) -> None:
        pod.gen += 1
        self.push(self.wls[pod.w].spec.template.startup_s, E_UP, pod, pod.gen)

    def _container_up(self, pod: Pod) -> None:
        ws = self.wls[pod.w]
        if pod.crashes_left > 0:
            pod.crashes_left -= 1
            self.crash(pod)
            return
        if ml.gpu_oom(ws, pod):
            self.crash(pod)
            return
        self.touch()
        pod.phase, pod.up_since = RUNNING, self.t
        start = lifecycle.plan(ws.spec.template)
        if start.killed_s is not None:
            self.push(start.killed_s, E_PROBE_KILL, pod, pod.gen)
        if start.ready_s is not None:
            if start.ready_s <= 0:
                pod.ready = True
                controllers.pod_ready(self, pod)
            else:
                self.push(start.ready_s, E_READY, pod, pod.gen)
        if start.serving_s <= 0:
            self._serving(pod)
        elif start.killed_s is None or start.serving_s < start.killed_s:
            self.push(start.serving_s, E_SERVING, pod, pod.gen)

    def _serving(self, pod: Pod) -> None:
        """The process answers requests (after its cold start)."""
        if not pod.alive:
            self.touch()
            pod.alive = True
            controllers.pod_alive_changed(self, self.wls[pod.w])

    def crash(self, pod: Pod) -> None:
        """The main container exits with an error; the kubelet restarts it after the back-off."""
        ws = self.wls[pod.w]
        was_alive = pod.alive
        self.touch()
        if pod.phase == RUNNING and self.t - pod.up_since >= self.timings.backoff_reset_s:
            pod.crash_streak = 0
        pod.crash_streak += 1
        data.container_restarted(self, ws, pod, node_rebooted=False)
        pod.phase, pod.ready, pod.alive, pod.backoff = STARTING, False, False, True
        pod.gen += 1
        tm = self.timings
        delay = min(tm.backoff_max_s, tm.backoff_initial_s * 2.0 ** (pod.crash_streak - 1))
        self.push(delay, E_RESTART, pod, pod.gen)
        if ws.spec.kind == "Job":
            controllers.job_failure(self, ws)
        if was_alive:
            controllers.pod_alive_changed(self, ws, lost=pod)

    def delete_pod(self, pod: Pod, *, grace_s: float) -> None:
        """Delete (or evict) a pod: out of endpoints now, resources held for the grace period."""
        ws = self.wls[pod.w]
        self.touch()
        was_alive = pod.alive
        pod.ready = pod.alive = False
        pod.gen += 1
        if pod in ws.pods:
            ws.pods.remove(pod)
        if pod.phase == PENDING or pod.node is None:
            if pod in self.pending:
                self.pending.remove(pod)
        elif grace_s <= 0:  # deleted at once (gracePeriodSeconds 0)
            pod.phase = TERMINATING
            release(self.c, pod)
            self.request_schedule()
        else:
            # Graceful: the pod holds its node (and its StatefulSet ordinal) until it has exited; on a
            # stopped node it stays Terminating until the kubelet comes back.
            pod.phase = TERMINATING
            ws.terminating.add(pod)
            if not pod.node.down:
                self.push(grace_s, E_TERMINATED, pod, pod.gen)
        data.pod_deleted(self, ws, pod)
        if ws.spec.kind == "Job":
            controllers.job_failure(self, ws)
        controllers.pod_alive_changed(self, ws, lost=pod if was_alive else None)
        controllers.request_reconcile(self, ws)

    def _terminated(self, pod: Pod) -> None:
        ws = self.wls[pod.w]
        ws.terminating.discard(pod)
        release(self.c, pod)
        self.request_schedule()
        if ws.spec.kind == "StatefulSet":
            controllers.request_reconcile(self, ws)

    # -- nodes --------------------------------------------------------------------------------------

    def node_down(self, node: Node, holder: str) -> None:
        first = not node.down
        node.down.add(holder)
        if not first:
            return
        self.touch()
        node.gen += 1
        for pod in list(node.pods):
            if pod.phase == TERMINATING:
                pod.gen += 1  # the kubelet cannot confirm the exit: Terminating until the node returns
            elif pod.phase in (RUNNING, STARTING):
                was_alive = pod.alive
                pod.alive = False
                pod.backoff = False
                pod.gen += 1
                if was_alive:
                    controllers.pod_alive_changed(self, self.wls[pod.w], lost=pod)
        if node.ready:
            self.push(self.timings.node_monitor_grace_s, E_NOT_READY, node, node.gen)

    def node_up(self, node: Node, holder: str) -> None:
        if holder not in node.down:
            return
        node.down.discard(holder)
        if node.down:
            return
        self.touch()
        node.gen += 1
        node.ready = True
        for pod in sorted(node.pods, key=lambda p: p.name):
            if pod.phase == TERMINATING:
                self._terminated(pod)
            elif pod.phase in (RUNNING, STARTING):
                if pod.phase == RUNNING:
                    pod.restarts += 1
                data.container_restarted(self, self.wls[pod.w], pod, node_rebooted=True)
                pod.phase, pod.ready = STARTING, False
                self._start_container(pod)
        self.request_schedule()

    def _node_not_ready(self, node: Node) -> None:
        self.touch()
        node.ready = False
        node.not_ready_since = self.t
        delays = set()
        for pod in node.pods:
            pod.ready = False
            delays.add(self.evict_delay(pod.w))
        for d in sorted(x for x in delays if x is not None):
            self.push(d, E_EVICT, node, node.gen)

    def evict_delay(self, w: int) -> float | None:
        d = self.c.unreachable_evict_s[w]
        return self.timings.toleration_s if d is not None and d < 0 else d

    def _node_evict(self, node: Node) -> None:
        for pod in sorted(node.pods, key=lambda p: p.name):
            d = self.evict_delay(pod.w)
            if pod.phase != TERMINATING and d is not None and self.t >= node.not_ready_since + d - 1e-9:
                self.delete_pod(pod, grace_s=self.wls[pod.w].spec.template.termination_grace_s)

    # -- signals ------------------------------------------------------------------------------------

    def cached_sample(self) -> SteadyStateSample | None:
        return None if self.dirty else self._sample

    def store_sample(self, s: SteadyStateSample) -> None:
        self._sample = s


@functools.lru_cache(maxsize=65536)
def _suffix(n: int, width: int) -> str:
    """A stable pseudo-random name suffix in the alphabet Kubernetes uses for generated names."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = []
    x = (n * 2654435761) % (27**width)
    for _ in range(width):
        x, r = divmod(x, 27)
        out.append(alphabet[r])
    return "".join(out)

