"""Only the Lease holder injects: the daemon's campaign for the Lease, on its own thread.

Without a Kubernetes cluster, or with ``[agent] leader_election = false``, the daemon leads alone.
Losing the lease sets the interrupt, so a running experiment reverts its fault at once: a fault must
not outlive our lease. ``release`` (on stop, after the last revert) gives the lease up, so a standby
takes over without waiting it out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:  # the elector module loads the Kubernetes client: only on a cluster
    from agent.backends.kubernetes.api import KubeApi

log = structlog.get_logger(__name__)


class Leadership:
    def __init__(self, *, interrupt: threading.Event, on_elected: Callable[[], None] = lambda: None) -> None:
        self.interrupt = interrupt
        self.on_elected = on_elected
        """Called each time the lease is won (the recovery sweeps the cluster again)."""
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leading(self) -> bool:
        return self._leading.is_set()

    def lead_alone(self) -> None:
        """No lease to campaign for: this replica is the only one."""
        self._leading.set()

    def campaign(self, api: KubeApi, *, namespace: str, name: str, identity: str, lease_duration_s: float,
                 renew_deadline_s: float | None = None, retry_period_s: float | None = None) -> None:
        """Campaign on a thread with client-go's timings: a leader that cannot renew within
        ``renew_deadline_s`` steps down (and the interrupt reverts its fault) before the lease can pass."""
        from agent.backends.kubernetes.leader import LeaderElector

        elector = LeaderElector(api, namespace=namespace, name=name, identity=identity,
                                lease_duration_s=lease_duration_s, renew_deadline_s=renew_deadline_s,
                                retry_period_s=retry_period_s)

        def on_change(leading: bool) -> None:
            if leading:
                self._leading.set()
                self.on_elected()
                log.info("leading", identity=identity)
            else:
                self._leading.clear()
                self.interrupt.set()  # a fault must not outlive our lease: revert and wait
                log.warning("not_leading", identity=identity)

        self._thread = threading.Thread(target=elector.run, args=(self._stop,), kwargs={"on_change": on_change},
                                        name="leader-election", daemon=True)
        self._thread.start()
        log.info("campaigning", lease=f"{namespace}/{name}", identity=identity)

    def release(self) -> None:
        """Stop campaigning and give the lease up (a no-op when not campaigning)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)  # releases the lease, so a standby takes over at once
