"""Findings: the weaknesses an experiment surfaced, deduplicated, stored, and rendered for people."""

from agent.findings.model import Evidence, FaultRef, Finding, findings_from_result, signature_of
from agent.findings.render import render_list, render_show
from agent.findings.store import ExportRef, FindingStore, FindingStoreError, QueueEntry

__all__ = [
    "Evidence",
    "ExportRef",
    "FaultRef",
    "Finding",
    "FindingStore",
    "FindingStoreError",
    "QueueEntry",
    "findings_from_result",
    "render_list",
    "render_show",
    "signature_of",
]
