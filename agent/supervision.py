"""The agent's hands on a cluster: every fault checked by the guard and journalled before it is applied.

``SupervisedBackend`` wraps any ``ClusterBackend`` (the simulator or a real cluster). On inject it
asks the safety guard (defence in depth behind the action mask), writes the intent to the journal
and fsyncs it, and only then touches the cluster; the outcome and the revert are journalled after.
In dry run it journals the plan and touches nothing. ``recover`` reverts what a crashed run left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.audit import AuditJournal, open_intents
from agent.errors import SafetyError
from agent.safety import DryRunRefusal, SafetyGuard
from envs.cluster import ClusterBackend, ClusterState, Injection
from envs.faults import Fault


@dataclass
class SupervisedBackend:
    backend: ClusterBackend
    journal: AuditJournal
    guard: SafetyGuard
    active: list[Injection] = field(default_factory=list)

    def snapshot(self) -> ClusterState:
        return self.backend.snapshot()

    def wait(self, seconds: float) -> None:
        self.backend.wait(seconds)

    def now(self) -> float:
        return self.backend.now()

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        try:
            self.guard.check(self.backend.snapshot(), fault, self.active)
        except DryRunRefusal as e:
            self.journal.record_intent(injection_id, fault, dry_run=True)
            planned = Injection(injection_id, fault, "dry_run", str(e))
            self.journal.record_outcome(planned)
            return planned
        except SafetyError as e:
            self.journal.record_intent(injection_id, fault)
            refused = Injection(injection_id, fault, "refused", str(e))
            self.journal.record_outcome(refused)
            return refused
        self.journal.record_intent(injection_id, fault)
        try:
            injection = self.backend.inject(fault, injection_id=injection_id)
        except BaseException as e:
            # The backend cleans up its own partial work before it raises; the outcome closes the intent.
            self.journal.record_outcome(Injection(injection_id, fault, "failed", str(e)), error=e)
            raise
        self.journal.record_outcome(injection)
        if injection.outcome == "applied":
            self.active.append(injection)
        return injection

    def revert(self, injection: Injection) -> None:
        if injection.outcome != "applied" or all(i.id != injection.id for i in self.active):
            return
        try:
            self.backend.revert(injection)
        except BaseException as e:
            self.journal.record_revert(injection.id, injection.fault, error=e)
            raise
        self.journal.record_revert(injection.id, injection.fault)
        self.active = [i for i in self.active if i.id != injection.id]

    def revert_all(self) -> int:
        """Revert every active fault, newest first; returns how many."""
        count = 0
        for injection in reversed(list(self.active)):
            self.revert(injection)
            count += 1
        return count


def recover(journal: AuditJournal, backend: ClusterBackend) -> list[str]:
    """Revert every fault whose intent has no completed revert (a crash mid-injection); returns their ids."""
    reverted = []
    for intent in open_intents(journal.path):
        injection = intent.as_injection()
        backend.revert(injection)
        journal.record_revert(injection.id, injection.fault)
        reverted.append(injection.id)
    return reverted
