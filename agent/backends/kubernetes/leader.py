"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

The leader renews ``spec.renewTime`` every ``retry_period``; a candidate takes over a lease whose
record has not changed for ``leaseDurationSeconds`` *as observed on its own clock* (so clock skew
between replicas does not matter). Every write carries the resourceVersion read before it: of two
candidates racing for one lease, the API server lets exactly one write through (409 for the other).
"""

from __future__ import annotations

import copy
import datetime as dt
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


def _micro_time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Observed:
    record: dict[str, Any]
    at: float
    """Our monotonic time when the record last changed."""


class LeaderElector:
    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration_s: float = 15.0,
        retry_period_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.api, self.namespace, self.name, self.identity = api, namespace, name, identity
        self.lease_duration_s = lease_duration_s
        self.retry_period_s = retry_period_s if retry_period_s is not None else lease_duration_s / 4
        self._clock, self._wall = clock, wall_clock
        self._observed: _Observed | None = None
        self._leading = False

    @property
    def is_leader(self) -> bool:
        """Leading and the last successful renewal is still within the lease duration."""
        return (
            self._leading and self._observed is not None and (self._clock() - self._observed.at < self.lease_duration_s)
        )

    def _spec(self, acquire_time: str | None, transitions: int) -> dict[str, Any]:
        now = _micro_time(self._wall())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.lease_duration_s)),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """One round: True when this identity holds the lease afterwards."""
        try:
            lease = self.api.get(LEASES, self.name, namespace=self.namespace)
        except NotFound:
            return self._create()
        spec = lease.get("spec") or {}
        record = {k: spec.get(k) for k in ("holderIdentity", "renewTime", "leaseDurationSeconds")}
        now = self._clock()
        if self._observed is None or self._observed.record != record:
            self._observed = _Observed(record, now)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration_s)
        if holder and holder != self.identity and now - self._observed.at < duration:
            self._leading = False
            return False
        mine = holder == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        updated = copy.deepcopy(lease)
        updated["spec"] = {**spec, **self._spec(spec.get("acquireTime") if mine else None, transitions)}
        try:
            written = self.api.replace(LEASES, self.name, updated, namespace=self.namespace)
        except Conflict:
            self._leading = False
            return False
        return self._won(written, taken_over=not mine)

    def _create(self) -> bool:
        body: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": self._spec(None, 0),
        }
        try:
            created = self.api.create(LEASES, body, namespace=self.namespace)
        except Conflict:
            self._leading = False
            return False
        return self._won(created, taken_over=True)

    def _won(self, lease: Obj, *, taken_over: bool) -> bool:
        spec = lease.get("spec") or {}
        self._observed = _Observed(
            {k: spec.get(k) for k in ("holderIdentity", "renewTime", "leaseDurationSeconds")}, self._clock()
        )
        if taken_over:
            log.info("became leader", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        self._leading = True
        return True

    def release(self) -> None:
        """Give the lease up at once (on a clean shutdown), so a standby need not wait it out."""
        if not self._leading:
            return
        try:
            lease = self.api.get(LEASES, self.name, namespace=self.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"].update(holderIdentity="", leaseDurationSeconds=1, renewTime=_micro_time(self._wall()))
                self.api.replace(LEASES, self.name, lease, namespace=self.namespace)
        except KubernetesApiError as e:
            log.warning("could not release the lease; it expires on its own", error=str(e))
        self._leading = False

    def run(self, stop: threading.Event, *, on_change: Callable[[bool], None] | None = None) -> None:
        """Campaign and renew until ``stop`` is set; ``on_change(leading)`` on every change."""
        was = False
        while not stop.is_set():
            try:
                self.try_acquire_or_renew()
            except KubernetesApiError as e:
                log.warning("lease round failed", error=str(e))
            now_leading = self.is_leader
            if now_leading != was and on_change is not None:
                on_change(now_leading)
            was = now_leading
            stop.wait(self.retry_period_s)
        self.release()
        if was and on_change is not None:
            on_change(False)
