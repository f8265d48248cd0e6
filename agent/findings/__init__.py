"""Findings: the weaknesses an experiment surfaced, deduplicated, stored, and rendered for people."""

from agent.findings.experiments import ExperimentRecord
from agent.findings.model import Evidence, FaultRef, Finding, findings_from_result, signature_of
from agent.findings.render import (
    UnknownFindingError,
    finding_show_text,
    findings_list_text,
    render_list,
    render_show,
)
from agent.findings.store import AmbiguousFindingKey, ExportRef, FindingStore, FindingStoreError, QueueEntry

__all__ = [
    "AmbiguousFindingKey",
    "Evidence",
    "ExperimentRecord",
    "ExportRef",
    "FaultRef",
    "Finding",
    "FindingStore",
    "FindingStoreError",
    "QueueEntry",
    "UnknownFindingError",
    "finding_show_text",
    "findings_from_result",
    "findings_list_text",
    "render_list",
    "render_show",
    "signature_of",
]
