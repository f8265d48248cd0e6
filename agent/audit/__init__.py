"""The audit trail: an append-only, hash-chained, write-ahead journal of everything the agent does."""

from agent.audit.anchor import HeadAnchor, HeadMark
from agent.audit.intents import OpenIntent, open_intents
from agent.audit.journal import AuditJournal
from agent.audit.keys import load_sealer
from agent.audit.records import AuditRecord, RecordKind, Sealer
from agent.audit.verify import Problem, VerifyReport, verify

__all__ = [
    "AuditJournal", "AuditRecord", "HeadAnchor", "HeadMark", "OpenIntent", "Problem", "RecordKind", "Sealer",
    "VerifyReport", "load_sealer", "open_intents", "verify",
]
