"""Reverting what must not stay active: the faults the journal holds open, and orphans in the cluster.

At start-up the daemon reverts the faults its own journal still holds open (a crash or kill -9
before), retrying until it can. Once leader, and again whenever the backend left a half-applied fault
it could not revert (``orphans_left``), it sweeps the cluster for faults carrying our marks that no
open injection owns (a dead leader's). After a failed slot and on stop it reverts what is still open,
retrying until a deadline (the SIGTERM bound).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import structlog

from agent.audit import AuditJournal, open_intents
from agent.backoff import Backoff
from agent.daemon.hands import InterruptibleBackend
from agent.daemon.readiness import Blockers
from agent.errors import ChaosAgentError
from agent.supervision import recover

log = structlog.get_logger(__name__)


class OrphanSweeper(Protocol):
    """A cluster backend that marks its faults and can find the ones nobody owns (the Kubernetes one)."""

    @property
    def orphans_left(self) -> bool:
        """True once a half-applied fault could not be reverted, until a sweep succeeds."""
        ...

    def revert_orphans(self, open_injection_ids: Iterable[str]) -> list[str]:
        ...


class Recovery:
    def __init__(self, *, journal: AuditJournal, hands: InterruptibleBackend, sweeper: OrphanSweeper | None,
                 blockers: Blockers, stopping: threading.Event, leading: Callable[[], bool],
                 retry_max_s: float) -> None:
        self.journal = journal
        self.hands = hands
        self.sweeper = sweeper
        self.blockers = blockers
        self.stopping = stopping
        self.leading = leading
        self.retry_max_s = retry_max_s
        self.swept = False
        """The start-up sweep (of this term as leader) is done."""

    def recover_own(self) -> None:
        """Revert the faults this agent's journal still holds open; retried until done or stopped."""
        backoff = Backoff(self.retry_max_s)
        while True:
            try:
                left = recover(self.journal, self.hands.inner)
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                self.blockers.block("recovery", f"cannot revert faults a previous run left open: {e}")
                log.error("recovery_failed", error=str(e), retry_in_s=round(delay, 1))
                if self.stopping.wait(delay):
                    return
                continue
            self.blockers.unblock("recovery")
            if left:
                log.warning("recovered", reverted=left)
            self.hands.forget_all()
            return

    def revert_open(self, deadline: float) -> None:
        """Revert every open intent, retrying until ``deadline`` (``time.monotonic()``)."""
        backoff = Backoff(min(5.0, self.retry_max_s), base_s=0.2)
        while True:
            try:
                left = recover(self.journal, self.hands.inner)
                self.hands.forget_all()
                if left:
                    log.info("reverted_on_stop", reverted=left)
                if self.leading():
                    self.sweep_orphans()  # a half-applied fault that could not be reverted at the time
                return
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                if time.monotonic() + delay > deadline:
                    log.error("revert_timeout", error=str(e), open=[i.injection_id for i in
                                                                    open_intents(self.journal.path)])
                    return
                log.warning("revert_failed", error=str(e), retry_in_s=round(delay, 1))
                time.sleep(delay)

    def sweep_again(self) -> None:
        """A new term as leader: sweep before the first injection (the last leader may have died)."""
        self.swept = False

    def sweep_orphans(self) -> None:
        """Once leader, and again whenever the backend left a half-applied fault it could not revert:
        revert every fault of ours in the cluster that no open injection owns."""
        if self.swept and not (self.sweeper is not None and self.sweeper.orphans_left):
            return
        if self.sweeper is not None:
            owned = [i.injection_id for i in open_intents(self.journal.path)]
            reverted = self.sweeper.revert_orphans(owned)
            if reverted:
                log.warning("orphans_reverted", marks=reverted)
                when = "sweep" if self.swept else "start-up sweep"
                self.journal.record_note(f"{when} reverted {len(reverted)} orphaned fault(s): "
                                         + ", ".join(reverted), status="reverted")
        self.swept = True
