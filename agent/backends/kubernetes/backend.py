"""The Kubernetes backend: ``envs.cluster.ClusterBackend`` on a real cluster.

Snapshots read the watch cache (listed once, then kept current by watches); faults go through the
registry in ``faults``; time is the wall clock. A fault whose application fails half-way is reverted
at once, and what cannot be reverted stays marked, and ``orphans_left`` says so: the daemon sweeps
(``revert_orphans``) again before its next injection and when it stops, not only at start-up. What a
fault needs done while it lasts (drain evictions a PDB refused, a GPU failure's lowered count after the
kubelet's status report) runs from ``wait``, in the experiment's own thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import structlog

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.cache import WatchCache, watched
from agent.backends.kubernetes.errors import KubernetesApiError, StillTerminating
from agent.backends.kubernetes.events import EventRecorder
from agent.backends.kubernetes.faults import FAULT_ACTIONS, ActionContext, distinct_actions
from agent.backends.kubernetes.marks import label_value
from agent.backends.kubernetes.resources import CONFIGMAPS, SNAPSHOT_RESOURCES
from agent.backends.kubernetes.state import SpecBuilder, cluster_state, twin_spec_builder
from agent.backends.kubernetes.view import ClusterView
from agent.config.cluster import KubernetesCluster
from agent.errors import BackendError
from envs.cluster import ClusterState, Injection
from envs.faults import Fault

log = structlog.get_logger(__name__)


class KubernetesBackend:
    def __init__(
        self,
        api: KubeApi,
        *,
        name: str = "kubernetes",
        settings: KubernetesCluster | None = None,
        spec_builder: SpecBuilder = twin_spec_builder,
        clock: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
        own_namespace: str | None = None,
    ) -> None:
        """``own_namespace``: the agent's namespace, whose ConfigMaps (the halt ConfigMap) are watched
        even when [cluster.kubernetes] namespaces confines the agent to others."""
        settings = settings or KubernetesCluster()
        self.api = api
        self.name = name
        extra = [(CONFIGMAPS, own_namespace)] if own_namespace and settings.namespaces else []
        self.cache = WatchCache(api, scopes=watched(SNAPSHOT_RESOURCES, settings.namespaces, extra))
        self._spec_builder = spec_builder
        self._clock = clock
        self._stop = stop or threading.Event()
        self.ctx = ActionContext(
            api=api,
            pod_grace_period_s=settings.pod_grace_period_s,
            clock=clock,
            chaos_mesh_inject_timeout_s=settings.chaos_mesh_inject_timeout_s,
            chaos_mesh_revert_timeout_s=settings.chaos_mesh_revert_timeout_s,
            stop=self._stop,
            namespaces=settings.namespaces,
        )
        self.events = EventRecorder(api, clock=clock)
        self.orphans_left = False
        """True once a half-applied fault could not be reverted, until a sweep succeeds."""

    @classmethod
    def connect(cls, settings: KubernetesCluster, **kw: object) -> KubernetesBackend:
        """A backend on the cluster ``settings`` name; ``kw`` as the constructor's (``stop``, ``own_namespace``)."""
        return cls(KubeApi.connect(settings), settings=settings, **kw)  # type: ignore[arg-type]

    def start(self, *, timeout_s: float = 60.0) -> None:
        """Fill the cache (paged lists) and start the watches."""
        self.cache.start(timeout_s=timeout_s)

    def close(self) -> None:
        self.cache.stop()
        self.api.close()

    # ---- ClusterBackend ----------------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def wait(self, seconds: float) -> None:
        """Wall-clock time passes (cut short when the stop flag is set, e.g. on SIGTERM); the drain
        retries that fall due meanwhile run here, in the caller's thread, so none outlives a revert."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            due = self.next_retry_s()
            pause = left if due is None else min(left, max(0.0, due - self._clock()))
            if pause > 0 and self._stop.wait(pause):
                return
            self.run_due_retries()
            if time.monotonic() >= deadline:
                return

    def next_retry_s(self) -> float | None:
        """When (on this backend's clock) the next round of upkeep is due, if any: refused drain
        evictions to try again, a GPU failure's count to re-apply."""
        due = [d for d in (self.ctx.drains.next_due_s(), self.ctx.gpu_holds.next_due_s()) if d is not None]
        return min(due, default=None)

    def run_due_retries(self) -> list[str]:
        """Run the upkeep rounds that are due; returns the pods evicted and the nodes whose GPU count
        was lowered again."""
        now = self._clock()
        return self.ctx.drains.run_due(self.api, now_s=now) + self.ctx.gpu_holds.run_due(self.api, now_s=now)

    def snapshot(self) -> ClusterState:
        return cluster_state(self.cache.objects(), name=self.name, time_s=self.now(), spec_builder=self._spec_builder)

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        action = FAULT_ACTIONS[fault.kind]
        view = ClusterView(self.cache.objects())
        try:
            plan = action.plan(fault, injection_id=injection_id, view=view, ctx=self.ctx)
        except KubernetesApiError as e:
            return Injection(injection_id, fault, "failed", f"planning failed: {e}")
        if plan.verdict != "go":
            return plan.refuse()
        try:
            injection = action.apply(plan, ctx=self.ctx)
            if self.ctx.left_behind:
                self.orphans_left = True
            if injection.outcome == "applied":
                self.events.injected(view, injection)
            return injection
        except KubernetesApiError as e:
            log.warning("fault failed to apply, reverting what was done", injection_id=injection_id, error=str(e))
            try:
                action.revert(injection_id, ctx=self.ctx)
            except (KubernetesApiError, StillTerminating) as revert_error:
                self.orphans_left = True
                log.error(
                    "partial fault could not be reverted; the next sweep will retry",
                    injection_id=injection_id,
                    error=str(revert_error),
                )
            return Injection(injection_id, fault, "failed", f"applying failed: {e}")

    def revert(self, injection: Injection) -> None:
        try:
            FAULT_ACTIONS[injection.fault.kind].revert(injection.id, ctx=self.ctx)
        except (KubernetesApiError, StillTerminating) as e:
            raise BackendError(f"could not revert {injection.id} ({injection.fault.describe()}): {e}") from e
        if injection.outcome == "applied" and self.cache.synced:
            self.events.reverted(ClusterView(self.cache.objects()), injection)

    # ---- the sweep ---------------------------------------------------------------------------
    def revert_orphans(self, open_injection_ids: Iterable[str]) -> list[str]:
        """Revert every mark in the cluster that no open injection owns; returns the marks reverted.
        ``orphans_left`` is cleared only when every one of them was reverted."""
        try:
            reverted = revert_orphans(self.ctx, open_injection_ids)
        except (KubernetesApiError, StillTerminating):
            self.orphans_left = True  # what the sweep could not revert is still there
            raise
        self.orphans_left = bool(self.ctx.left_behind)
        return reverted


def revert_orphans(ctx: ActionContext, open_injection_ids: Iterable[str]) -> list[str]:
    owned = {label_value(i) for i in open_injection_ids}
    reverted: list[str] = []
    for action in distinct_actions():
        for mark in sorted(action.marked(ctx=ctx) - owned):
            log.info("reverting an orphaned fault", mark=mark, action=type(action).__name__)
            action.revert(mark, ctx=ctx)
            reverted.append(mark)
    return sorted(set(reverted))
