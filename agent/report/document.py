"""The game-day report: Markdown and HTML with the pictures, a summary and every finding's evidence.

``write_report(findings, results_timeline, out_dir)`` writes report.md, report.html, findings.json,
discovery.png and timeline.png, and returns their paths. ``results_timeline`` is the experiments in
injection order, so a finding's ``injection_index`` indexes into it.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.findings.model import Finding
from agent.report.charts import discovery_curve, discovery_series, fault_timeline
from envs.experiment import ExperimentResult

LABELS = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    findings_json: Path
    discovery_png: Path
    timeline_png: Path


@dataclass(frozen=True)
class Summary:
    injections: int
    applied: int
    distinct_findings: int
    by_severity: dict[str, int]
    budget_burned_min: float
    """SLO minutes spent in breach over the game day (sum over breaches)."""
    first_finding_at: int | None
    """1-based injection that surfaced the first finding."""


def summarise(findings: Sequence[Finding], results: Sequence[ExperimentResult]) -> Summary:
    counts = Counter(f.severity_label for f in findings)
    return Summary(
        injections=len(results),
        applied=sum(1 for r in results if r.injection.outcome == "applied"),
        distinct_findings=len(findings),
        by_severity={label: counts.get(label, 0) for label in LABELS},
        budget_burned_min=round(sum(r.budget_burned_s for r in results) / 60.0, 2),
        first_finding_at=min((f.injection_index for f in findings), default=None) if findings else None,
    )


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity, f.injection_index, f.id))


def _recover(f: Finding) -> str:
    return "not recovered" if f.evidence.breach.recover_s is None else f"{f.evidence.breach.recover_s:g} s"


def _markdown(s: Summary, findings: list[Finding], when: str) -> str:
    first = "none" if s.first_finding_at is None else f"injection {s.first_finding_at + 1}"
    lines = [
        "# chaos-agent game-day report",
        "",
        f"Generated {when}.",
        "",
        "## Summary",
        "",
        f"- Injections: {s.injections} ({s.applied} applied)",
        f"- Distinct findings: {s.distinct_findings}",
        "- By severity: " + ", ".join(f"{k} {v}" for k, v in s.by_severity.items()),
        f"- SLO budget burned: {s.budget_burned_min:g} violation-minutes",
        f"- First finding: {first}",
        "",
        "![Discovery curve](discovery.png)",
        "",
        "![Faults against the SLO signals](timeline.png)",
        "",
        "## Findings",
        "",
        "| ID | Severity | Violation | Fault | Target | Affected | Seen | Injection |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.id} | {f.severity:.2f} {f.severity_label} | {f.violation} | {f.faults_text()} | {f.target} | "
        f"{', '.join(f.affected)} | {f.reproductions} | {f.injection_index + 1} |"
        for f in findings
    ]
    for f in findings:
        e = f.evidence.breach
        lines += [
            "",
            f"### {f.id}: {f.hypothesis}",
            "",
            f"- Fault: {f.faults_text()} (family {f.fault.family})",
            f"- Signal {e.signal}: before {e.before:g}, worst {e.worst:g}, after {e.after:g}, "
            f"threshold {e.threshold:g}",
            f"- Detected after {e.detect_s:g} s; recovered after revert: {_recover(f)}; "
            f"in breach {e.breach_s:g} s",
            f"- Signature `{f.signature}`",
        ]
    return "\n".join(lines) + "\n"


def _html(s: Summary, findings: list[Finding], when: str) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<tr class='{esc(f.severity_label)}'><td>{esc(f.id)}</td>"
        f"<td>{f.severity:.2f} {esc(f.severity_label)}</td>"
        f"<td>{esc(f.violation)}</td><td>{esc(f.faults_text())}</td><td>{esc(f.target)}</td>"
        f"<td>{esc(', '.join(f.affected))}</td><td>{f.reproductions}</td><td>{f.injection_index + 1}</td>"
        f"<td>{esc(f.hypothesis)}</td><td>{b.before:g} → {b.worst:g} → {b.after:g}"
        f"</td><td>{esc(_recover(f))}</td></tr>"
        for f in findings
        for b in (f.evidence.breach,)
    )
    sev = ", ".join(f"{esc(k)} <b>{v}</b>" for k, v in s.by_severity.items())
    first = "none" if s.first_finding_at is None else f"injection {s.first_finding_at + 1}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>chaos-agent game-day report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left}}tr.critical td:nth-child(2){{color:#b00}}
tr.high td:nth-child(2){{color:#d60}}img{{max-width:100%}}</style></head><body>
<h1>chaos-agent game-day report</h1><p>Generated {esc(when)}.</p>
<h2>Summary</h2><ul>
<li>Injections: <b id="injections">{s.injections}</b> ({s.applied} applied)</li>
<li>Distinct findings: <b id="distinct-findings">{s.distinct_findings}</b></li>
<li>By severity: {sev}</li>
<li>SLO budget burned: {s.budget_burned_min:g} violation-minutes</li>
<li>First finding: {first}</li></ul>
<h2>Discovery curve</h2><img src="discovery.png" alt="Distinct findings against injections">
<h2>Faults against the SLO signals</h2><img src="timeline.png" alt="Fault windows over the SLO signals">
<h2>Findings</h2><table id="findings"><tr><th>ID</th><th>Severity</th><th>Violation</th><th>Fault</th>
<th>Target</th><th>Affected</th><th>Seen</th><th>Injection</th><th>Hypothesis</th>
<th>Before → worst → after</th><th>Recovery</th></tr>
{rows}
</table></body></html>
"""


def write_report(
    findings: Sequence[Finding],
    results_timeline: Sequence[ExperimentResult],
    out_dir: str | Path,
    *,
    generated_at: datetime | None = None,
) -> ReportPaths:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ordered = _ordered(findings)
    injections = max([len(results_timeline), *(f.injection_index + 1 for f in findings)])
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    summary = summarise(ordered, results_timeline)
    paths = ReportPaths(
        markdown=out / "report.md",
        html=out / "report.html",
        findings_json=out / "findings.json",
        discovery_png=out / "discovery.png",
        timeline_png=out / "timeline.png",
    )
    discovery_curve(ordered, injections, paths.discovery_png)
    fault_timeline(results_timeline, ordered, paths.timeline_png)
    paths.markdown.write_text(_markdown(summary, ordered, when), encoding="utf-8")
    paths.html.write_text(_html(summary, ordered, when), encoding="utf-8")
    paths.findings_json.write_text(
        json.dumps(
            {
                "summary": summary.__dict__,
                "discovery": discovery_series(ordered, injections),
                "findings": [f.to_report_dict() for f in ordered],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return paths
