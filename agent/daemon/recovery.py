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
from agent.backoff import Backoff, Retries
from agent.daemon.failures import FailureLog
from agent.daemon.hands import InterruptibleBackend
from agent.daemon.readiness import Blockers
from agent.errors import AuditError, ChaosAgentError

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
                 retry_max_s: float, failures: FailureLog) -> None:
        self.journal = journal
        self.hands = hands
        self.sweeper = sweeper
        self.blockers = blockers
        self.stopping = stopping
        self.leading = leading
        self.retry_max_s = retry_max_s
        self.swept = False
        """The start-up sweep (of this term as leader) is done."""
        self.unrecorded: set[str] = set()
        """Injections reverted in the cluster whose revert the journal could not record: not reverted
        again by this process (the journal still holds them open, so the next start does, harmlessly)."""
        self.failures = failures

    def recover_own(self) -> None:
        """Revert the faults this agent's journal still holds open; retried until done or stopped."""
        backoff = Retries(Backoff(1.0, self.retry_max_s, jitter="equal"))
        while True:
            try:
                left = self._revert_intents()
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                self.blockers.block("recovery", f"cannot revert faults a previous run left open: {e}")
                self.failures.once("recovery_failed", e, level="error", retry_in_s=round(delay, 1))
                if self.stopping.wait(delay):
                    return
                continue
            self.blockers.unblock("recovery")
            self.failures.cleared()
            if left:
                log.warning("recovered", reverted=left)
            self.hands.forget_all()
            return

    def revert_open(self, deadline: float) -> None:
        """Revert every open intent, retrying what the cluster refused until ``deadline`` (monotonic)."""
        backoff = Retries(Backoff(0.2, min(5.0, self.retry_max_s), jitter="equal"))
        while True:
            try:
                left = self._revert_intents()
                self.failures.cleared()
                self.hands.forget_all()
                if left:
                    log.info("reverted_on_stop", reverted=left)
                if self.leading():
                    self.sweep_orphans()  # a half-applied fault that could not be reverted at the time
                return
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                if time.monotonic() + delay > deadline:
                    still = [i.injection_id for i in open_intents(self.journal.path)]
                    log.error("revert_timeout", error=str(e), open=[i for i in still if i not in self.unrecorded])
                    return
                self.failures.once("revert_failed", e, level="warning", retry_in_s=round(delay, 1))
                time.sleep(delay)

    def _revert_intents(self) -> list[str]:
        """Revert every open intent in the cluster, then journal it; returns the ids reverted.

        Raises when the cluster (or the sweep) fails: that is retried. A journal that cannot record a
        revert that succeeded is not a reason to revert again: it is logged once per cause, and the
        injection is remembered as reverted."""
        reverted = []
        for intent in open_intents(self.journal.path):
            injection = intent.as_injection()
            if injection.id in self.unrecorded:
                continue
            self.hands.inner.revert(injection)
            try:
                self.journal.record_revert(injection.id, injection.fault)
            except AuditError as e:
                self.unrecorded.add(injection.id)
                self.failures.once("journal_write_failed", e, note=(
                    "faults are still reverted; the journal keeps them open, so the next start reverts them "
                    "again (a no-op)"))
                log.info("reverted_not_journalled", injection_id=injection.id)
                continue
            reverted.append(injection.id)
        return reverted

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
                try:
                    self.journal.record_note(f"{when} reverted {len(reverted)} orphaned fault(s): "
                                             + ", ".join(reverted), status="reverted")
                except AuditError as e:  # the sweep itself succeeded: nothing to retry
                    self.failures.once("journal_write_failed", e)
        self.swept = True
