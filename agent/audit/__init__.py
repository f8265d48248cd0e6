"""The audit trail: an append-only, hash-chained, write-ahead journal of everything the agent does."""

from agent.audit.intents import OpenIntent, open_intents
from agent.audit.journal import AuditJournal
from agent.audit.records import AuditRecord, RecordKind
from agent.audit.verify import Problem, VerifyReport, verify

__all__ = [
    "AuditJournal", "AuditRecord", "OpenIntent", "Problem", "RecordKind", "VerifyReport", "open_intents",
    "verify",
]
