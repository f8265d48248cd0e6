"""The one Protocol every exporter implements, and the words every ticket shares.

``export(finding, existing)`` opens a ticket when ``existing`` is None and otherwise updates or
comments on the ticket ``existing`` names, so a recurrence never opens a second one. It returns
where the finding now lives; it raises ``ExportError`` (``TransientExportError`` when a later try
may work) and never lets a secret into the message.
"""

from __future__ import annotations

from typing import Protocol

from agent.findings.model import Finding
from agent.findings.store import ExportRef

TITLE_PREFIX = "[chaos-agent]"


class Exporter(Protocol):
    name: str
    """The exporter's key in [exporters] and in the store (jira, github, redmine, webhook, alertmanager)."""

    def export(self, finding: Finding, existing: ExportRef | None) -> ExportRef: ...


def title(f: Finding) -> str:
    affected = f.affected[0] + (f" (+{len(f.affected) - 1})" if len(f.affected) > 1 else "")
    return f"{TITLE_PREFIX} {f.violation} broken on {affected} by {f.faults_text()} ({f.id})"


def fact_lines(f: Finding) -> list[tuple[str, str]]:
    """The finding as (label, value) pairs, in the order a reader needs them."""
    e = f.evidence.breach
    recover = "not within the watch" if e.recover_s is None else f"{e.recover_s:g} s after the revert"
    return [
        ("Hypothesis", f.hypothesis),
        ("Violation", f.violation),
        ("Severity", f"{f.severity:.2f} ({f.severity_label})"),
        ("Fault", f"{f.faults_text()} (family {f.fault.family})"),
        ("Target", f.target),
        ("Affected", ", ".join(f.affected)),
        (
            "Signal",
            f"{e.signal}: before {e.before:g}, worst {e.worst:g}, after {e.after:g} "
            f"(threshold {e.threshold:g})",
        ),
        ("Detected", f"{e.detect_s:g} s after the fault started"),
        ("Recovered", recover),
        ("In breach", f"{e.breach_s:g} s"),
        ("Reproductions", str(f.reproductions)),
        ("First seen", f"{f.first_seen.isoformat()} (injection #{f.injection_index})"),
        ("Last seen", f.last_seen.isoformat()),
        ("Signature", f.signature),
    ]


def markdown_body(f: Finding) -> str:
    rows = "\n".join(f"| {k} | {v.replace('|', '/')} |" for k, v in fact_lines(f))
    return (
        f"chaos-agent found a weakness: **{f.hypothesis}** did not hold under {f.faults_text()}.\n\n"
        f"| | |\n|---|---|\n{rows}\n\n"
        f"Reproduce: inject `{f.fault.kind}` at intensity {f.fault.intensity} on `{f.target}` "
        f"and watch `{f.evidence.breach.signal}`.\n"
    )


def recurrence_text(f: Finding) -> str:
    e = f.evidence.breach
    return (
        f"Reproduced again: now seen {f.reproductions} times, last at {f.last_seen.isoformat()}. "
        f"Worst so far: {e.signal} {e.worst:g} against {e.threshold:g} "
        f"(severity {f.severity:.2f}, {f.severity_label})."
    )
