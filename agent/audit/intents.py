"""Which injections the journal says may still be in the cluster: the daemon reverts them on start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.audit.records import RecordKind, parse_line
from agent.errors import AuditError
from envs.cluster import Injection
from envs.faults import Fault

CLOSING_OUTCOMES = ("refused", "failed", "dry_run")
"""Outcomes after which nothing is left in the cluster (a backend cleans up its own partial work before
it reports "failed")."""


@dataclass(frozen=True)
class OpenIntent:
    """An intent with no completed revert: the fault may be active."""

    injection_id: str
    fault: Fault
    intent_seq: int
    ts: str
    outcome: str | None
    """None: the agent stopped between the intent and the outcome, so the fault may or may not be applied."""
    pods: tuple[str, ...] = ()

    def as_injection(self) -> Injection:
        """The handle to revert it (reverts are idempotent, so an unknown outcome is reverted too)."""
        return Injection(id=self.injection_id, fault=self.fault, outcome="applied",
                         detail="recovered from the audit journal", affected_pods=self.pods)


def open_intents(path: Path) -> list[OpenIntent]:
    """Every intent without a completed revert, oldest first. Reads only; a torn last line is skipped.

    Lines that are not records are skipped and the chain is not checked: reverting what can be read is
    the safe thing to do even on a damaged journal. ``verify`` says whether it is intact.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise AuditError(f"cannot read the audit journal {path}: {e.strerror}") from e
    lines = data.split(b"\n")[:-1]  # the part after the last newline is torn or empty
    pending: dict[str, OpenIntent] = {}
    for line in lines:
        record = parse_line(line)
        rid = None if record is None else record.injection_id
        if record is None or rid is None:
            continue
        if record.kind is RecordKind.INTENT and record.fault is not None:
            if record.status == "dry_run":
                continue
            pending[rid] = OpenIntent(rid, record.fault, record.seq, record.ts, None)
        elif record.kind is RecordKind.OUTCOME and rid in pending:
            if record.status in CLOSING_OUTCOMES:
                del pending[rid]
            else:
                old = pending[rid]
                pending[rid] = OpenIntent(rid, old.fault, old.intent_seq, old.ts, record.status, record.pods)
        elif record.kind is RecordKind.REVERT and record.status == "reverted":
            pending.pop(rid, None)
    return list(pending.values())
