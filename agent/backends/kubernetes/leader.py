"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics.

Three durations, as client-go's ``LeaderElectionConfig``: a candidate takes over a lease whose record
has not changed for ``lease_duration`` *as observed on its own clock* (so clock skew between replicas
does not matter); the leader tries to renew every ``retry_period``, and steps down once
``renew_deadline`` has passed since the last renewal that succeeded, counted from the moment that
renewal was *sent* (before the server wrote it). Since ``renew_deadline < lease_duration``, the leader
has stopped leading before any candidate can see its lease expire, with ``lease_duration -
renew_deadline`` to spare for a request already in flight.

The deadline does not wait for a stalled renewal to return: each round runs in its own thread, and
its requests, retries and back-off (timeouts, 5xx, a 429's Retry-After) are all bounded by the
deadline (``KubeApi.bounded``); the campaign thread steps down at the deadline even if the round
still hangs. Every write carries the resourceVersion read before it: of two candidates racing for
one lease, the API server lets exactly one write through (409 for the other).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from agent.backends.kubernetes.api import KubeApi, Obj
from agent.backends.kubernetes.errors import Conflict, KubernetesApiError, NotFound
from agent.backends.kubernetes.resources import LEASES

log = structlog.get_logger(__name__)

RENEW_DEADLINE_SHARE = 10 / 15
"""client-go's default renew deadline (10 s) as a share of its default lease duration (15 s)."""
RETRY_PERIOD_SHARE = 2 / 15
"""client-go's default retry period (2 s) as a share of its default lease duration (15 s)."""
_RECORD_KEYS = ("holderIdentity", "renewTime", "leaseDurationSeconds")


def _micro_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseTimings:
    """The three durations of leader election, in seconds; ``lease > renew_deadline > retry_period``."""

    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period_s < self.renew_deadline_s < self.lease_duration_s:
            raise ValueError(
                f"leader election needs 0 < retry period ({self.retry_period_s:g} s) < renew deadline "
                f"({self.renew_deadline_s:g} s) < lease duration ({self.lease_duration_s:g} s)")

    @classmethod
    def for_lease(cls, lease_duration_s: float, *, renew_deadline_s: float | None = None,
                  retry_period_s: float | None = None) -> LeaseTimings:
        """client-go's proportions (15 s / 10 s / 2 s) for ``lease_duration_s`` where not given."""
        return cls(
            lease_duration_s,
            renew_deadline_s if renew_deadline_s is not None else lease_duration_s * RENEW_DEADLINE_SHARE,
            retry_period_s if retry_period_s is not None else lease_duration_s * RETRY_PERIOD_SHARE,
        )

    @property
    def written_duration_s(self) -> int:
        """``leaseDurationSeconds`` as written: whole seconds, never below the configured duration."""
        return max(1, math.ceil(self.lease_duration_s))


@dataclass
class _Observed:
    record: dict[str, Any]
    at: float
    """Our monotonic time when the record last changed."""


@dataclass
class _Round:
    """One acquire-or-renew round running in its own thread."""

    started: float
    done: threading.Event
    thread: threading.Thread


class LeaderElector:
    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration_s: float = 15.0,
        renew_deadline_s: float | None = None,
        retry_period_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.api, self.namespace, self.name, self.identity = api, namespace, name, identity
        self.timings = LeaseTimings.for_lease(
            lease_duration_s, renew_deadline_s=renew_deadline_s, retry_period_s=retry_period_s)
        self._clock, self._wall = clock, wall_clock
        self._observed: _Observed | None = None
        self._lock = threading.Lock()
        self._renewed_at: float | None = None
        """When the last successful round was sent (our monotonic clock); None: not leading."""

    @property
    def lease_duration_s(self) -> float:
        return self.timings.lease_duration_s

    @property
    def retry_period_s(self) -> float:
        return self.timings.retry_period_s

    @property
    def renew_deadline_s(self) -> float:
        return self.timings.renew_deadline_s

    # ---- leadership, as the injecting code asks for it ---------------------------------------
    def leadership_left_s(self) -> float:
        """Seconds this replica may still act as leader (0: it must not inject)."""
        with self._lock:
            if self._renewed_at is None:
                return 0.0
            return max(0.0, self._renewed_at + self.timings.renew_deadline_s - self._clock())

    @property
    def is_leader(self) -> bool:
        """Holding the lease, and the last successful renewal is within the renew deadline."""
        return self.leadership_left_s() > 0

    # ---- one round ---------------------------------------------------------------------------
    def try_acquire_or_renew(self, *, deadline: float | None = None) -> bool:
        """One round: True when this identity holds the lease afterwards. Every request of the round
        ends by ``deadline`` (``time.monotonic()``), by default one renew deadline from now."""
        sent = self._clock()
        bound = deadline if deadline is not None else time.monotonic() + self.timings.renew_deadline_s
        api = self.api.bounded(bound)
        try:
            lease = api.get(LEASES, self.name, namespace=self.namespace)
        except NotFound:
            return self._create(api, sent)
        spec = lease.get("spec") or {}
        record = {k: spec.get(k) for k in _RECORD_KEYS}
        now = self._clock()
        if self._observed is None or self._observed.record != record:
            self._observed = _Observed(record, now)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.timings.written_duration_s)
        if holder and holder != self.identity and now - self._observed.at < duration:
            self._step_down()
            return False
        mine = holder == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        updated = copy.deepcopy(lease)
        updated["spec"] = {**spec, **self._spec(spec.get("acquireTime") if mine else None, transitions)}
        try:
            written = api.replace(LEASES, self.name, updated, namespace=self.namespace)
        except Conflict:
            self._step_down()
            return False
        return self._won(written, sent=sent, taken_over=not mine)

    def _spec(self, acquire_time: str | None, transitions: int) -> dict[str, Any]:
        now = _micro_time(self._wall())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.timings.written_duration_s,
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def _create(self, api: KubeApi, sent: float) -> bool:
        body: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": self._spec(None, 0),
        }
        try:
            created = api.create(LEASES, body, namespace=self.namespace)
        except Conflict:
            self._step_down()
            return False
        return self._won(created, sent=sent, taken_over=True)

    def _won(self, lease: Obj, *, sent: float, taken_over: bool) -> bool:
        spec = lease.get("spec") or {}
        self._observed = _Observed({k: spec.get(k) for k in _RECORD_KEYS}, self._clock())
        if taken_over:
            log.info("became leader", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        with self._lock:
            # A round that returns late may not extend leadership past what its send time allows.
            if self._renewed_at is None or sent > self._renewed_at:
                self._renewed_at = sent
        return True

    def _step_down(self) -> None:
        with self._lock:
            self._renewed_at = None

    def release(self) -> None:
        """Give the lease up at once (on a clean shutdown), so a standby need not wait it out."""
        if self._renewed_at is None:
            return
        self._step_down()
        api = self.api.bounded(time.monotonic() + self.timings.renew_deadline_s)
        try:
            lease = api.get(LEASES, self.name, namespace=self.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"].update(holderIdentity="", leaseDurationSeconds=1, renewTime=_micro_time(self._wall()))
                api.replace(LEASES, self.name, lease, namespace=self.namespace)
        except KubernetesApiError as e:
            log.warning("could not release the lease; it expires on its own", error=str(e))

    # ---- the campaign ------------------------------------------------------------------------
    def run(self, stop: threading.Event, *, on_change: Callable[[bool], None] | None = None) -> None:
        """Campaign and renew until ``stop`` is set; ``on_change(leading)`` on every change, from this
        thread. ``on_change(False)`` comes at the renew deadline at the latest, even while a round hangs."""
        notify = on_change or (lambda _leading: None)
        was = False
        current: _Round | None = None
        next_round_at = self._clock()
        while not stop.is_set():
            if current is None and self._clock() >= next_round_at:
                current = self._start_round()
                next_round_at = current.started + self.timings.retry_period_s
            self._pause(current, next_round_at, stop)
            leading = self.is_leader
            if leading != was:
                if not leading:
                    self._step_down()
                    log.warning("stopped leading", lease=f"{self.namespace}/{self.name}", identity=self.identity,
                                renew_deadline_s=self.timings.renew_deadline_s)
                notify(leading)
                was = leading
            if current is not None and current.done.is_set():
                current = None
        if current is not None:
            current.done.wait(self.leadership_left_s())
        self.release()
        if was:
            notify(False)

    def _start_round(self) -> _Round:
        done = threading.Event()
        left = self.leadership_left_s()
        bound = time.monotonic() + (left if left > 0 else self.timings.renew_deadline_s)

        def work() -> None:
            try:
                self.try_acquire_or_renew(deadline=bound)
            except KubernetesApiError as e:
                log.warning("lease round failed", error=str(e))
            finally:
                done.set()

        thread = threading.Thread(target=work, name="lease-round", daemon=True)
        current = _Round(self._clock(), done, thread)
        thread.start()
        return current

    def _pause(self, current: _Round | None, next_round_at: float, stop: threading.Event) -> None:
        """Until the stop flag, the round's end, the renew deadline (while leading) or, with no round
        running, the next round's time: whichever comes first."""
        while not stop.is_set():
            if current is not None and current.done.is_set():
                return
            ends = [next_round_at] if current is None else []
            if self._renewed_at is not None:
                ends.append(self._clock() + self.leadership_left_s())
            left = min(ends) - self._clock() if ends else 0.1
            if left <= 0:
                return
            if current is None:
                stop.wait(left)
            else:
                current.done.wait(min(left, 0.1))
