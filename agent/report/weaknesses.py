"""The report's lead: the weaknesses (root causes, their fixes) and the impact of faults beyond the design basis.

A finding that no weakness of the store lists came from faults beyond the design basis (or from a weakness
resolved since): the blast-radius map, impact rather than something to fix.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from agent.findings.model import Finding
from agent.weaknesses.model import WeaknessRecord


def _fix(r: WeaknessRecord) -> str:
    if r.remedy is None:
        return "no known fix"
    return f"{r.remedy.summary} ({'verified in the twin' if r.remedy.verified else 'not verified: ' + r.remedy.detail})"


def impact_findings(findings: Sequence[Finding], weaknesses: Sequence[WeaknessRecord]) -> list[Finding]:
    listed = {f for r in weaknesses for f in r.weakness.findings}
    return [f for f in findings if f.id not in listed]


def markdown(weaknesses: Sequence[WeaknessRecord], findings: Sequence[Finding]) -> list[str]:
    lines = ["## Weaknesses", "",
             "Root causes that break a steady state under faults within the design basis, worst first; the "
             "findings below are their evidence.", "",
             "| ID | Severity | Kind | Status | Title | Findings |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.id} | {r.weakness.severity:.2f} {r.weakness.severity_label} | {r.weakness.cause.value} | "
              f"{r.status} | {r.weakness.title.replace('|', '/')} | {', '.join(r.weakness.findings)} |"
              for r in weaknesses]
    if not weaknesses:
        lines.append("| - | - | - | - | no weakness | - |")
    for r in weaknesses:
        lines += ["", f"### {r.id}: {r.weakness.title}", "", r.weakness.explanation, "",
                  f"- Breaks: {'; '.join(r.weakness.slos)}", f"- Fix: {_fix(r)}"]
        if r.remedy is not None and r.remedy.patch:
            lines += ["", "```yaml", r.remedy.patch.rstrip(), "```"]
    impact = impact_findings(findings, weaknesses)
    lines += ["", "## Beyond the design basis (impact)", "",
              "What faults beyond the design basis broke: worth knowing, not weaknesses, never tickets.", ""]
    lines += [f"- {f.faults_text()}: {f.hypothesis} ({f.id})" for f in impact] or ["- nothing"]
    return [*lines, ""]


def html_section(weaknesses: Sequence[WeaknessRecord], findings: Sequence[Finding]) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<tr class='{esc(r.weakness.severity_label)}'><td>{esc(r.id)}</td>"
        f"<td>{r.weakness.severity:.2f} {esc(r.weakness.severity_label)}</td><td>{esc(r.weakness.cause.value)}</td>"
        f"<td>{esc(r.status)}</td><td>{esc(r.weakness.title)}</td><td>{esc(_fix(r))}</td>"
        f"<td>{esc(', '.join(r.weakness.findings))}</td></tr>" for r in weaknesses)
    impact = "".join(f"<li>{esc(f.faults_text())}: {esc(f.hypothesis)} ({esc(f.id)})</li>"
                     for f in impact_findings(findings, weaknesses)) or "<li>nothing</li>"
    return ("<h2>Weaknesses</h2><table><tr><th>ID</th><th>Severity</th><th>Kind</th><th>Status</th><th>Title</th>"
            f"<th>Fix</th><th>Findings</th></tr>\n{rows}\n</table>\n"
            f"<h2>Beyond the design basis (impact)</h2><ul>{impact}</ul>\n")
