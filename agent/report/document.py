"""The game-day report: Markdown and HTML with the pictures, a summary and every finding's evidence.

``write_report(findings, experiments, out_dir)`` writes report.md, report.html, findings.json and, when
matplotlib is installed, discovery.png and timeline.png, and returns their paths. ``experiments`` are a
run's experiments in order (numbered from 1, as the progress lines number them); a finding's injection
is the first of them that surfaced it. Without matplotlib the report is written without its pictures
and says how to get them.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent.findings.experiments import ExperimentRecord
from agent.findings.model import Finding
from agent.report.series import discovery_series
from agent.report.weaknesses import html_section
from agent.report.weaknesses import markdown as weakness_markdown
from agent.weaknesses.model import WeaknessRecord

LABELS = ("critical", "high", "medium", "low")
NO_CHARTS = ("the charts are not drawn: matplotlib is not installed. Install it (pip install 'matplotlib>=3.8', "
             "or in a clone pip install -e '.[report]') and run chaos-agent report again")


@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    html: Path
    findings_json: Path
    discovery_png: Path | None
    timeline_png: Path | None
    """None when matplotlib is not installed: ``charts_note`` then says how to get the pictures."""
    charts_note: str = ""


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


def first_injections(findings: Sequence[Finding], experiments: Sequence[ExperimentRecord]) -> dict[str, int]:
    """Signature -> the number of the first experiment that surfaced it (the stored index when none did)."""
    firsts = {f.signature: f.injection_index for f in findings}
    for r in reversed(experiments):
        for signature in r.signatures:
            if signature in firsts:
                firsts[signature] = r.injection
    return firsts


def summarise(findings: Sequence[Finding], experiments: Sequence[ExperimentRecord]) -> Summary:
    counts = Counter(f.severity_label for f in findings)
    firsts = first_injections(findings, experiments)
    return Summary(
        injections=len(experiments),
        applied=sum(1 for r in experiments if r.outcome == "applied"),
        distinct_findings=len(findings),
        by_severity={label: counts.get(label, 0) for label in LABELS},
        budget_burned_min=round(sum(r.budget_burned_s for r in experiments) / 60.0, 2),
        first_finding_at=min(firsts.values(), default=None),
    )


def _recover(f: Finding) -> str:
    return "not recovered" if f.evidence.breach.recover_s is None else f"{f.evidence.breach.recover_s:g} s"


def _markdown(s: Summary, findings: list[Finding], firsts: dict[str, int], when: str, charts_note: str,
              weaknesses: Sequence[WeaknessRecord] = ()) -> str:
    first = "none" if s.first_finding_at is None else f"injection {s.first_finding_at}"
    pictures = [f"_{charts_note[0].upper()}{charts_note[1:]}._"] if charts_note else [
        "![Discovery curve](discovery.png)", "", "![Faults against the SLO signals](timeline.png)"]
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
        f"- Weaknesses: {len(weaknesses)} (root causes; the findings are their evidence)",
        "",
        *weakness_markdown(weaknesses, findings),
        *pictures,
        "",
        "## Findings",
        "",
        "| ID | Severity | Violation | Fault | Target | Affected | Seen | Injection |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f.id} | {f.severity:.2f} {f.severity_label} | {f.violation} | {f.faults_text()} | {f.target} | "
        f"{', '.join(f.affected)} | {f.reproductions} | {firsts[f.signature]} |"
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


def _html(s: Summary, findings: list[Finding], firsts: dict[str, int], when: str, charts_note: str,
          weaknesses: Sequence[WeaknessRecord] = ()) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<tr class='{esc(f.severity_label)}'><td>{esc(f.id)}</td>"
        f"<td>{f.severity:.2f} {esc(f.severity_label)}</td>"
        f"<td>{esc(f.violation)}</td><td>{esc(f.faults_text())}</td><td>{esc(f.target)}</td>"
        f"<td>{esc(', '.join(f.affected))}</td><td>{f.reproductions}</td><td>{firsts[f.signature]}</td>"
        f"<td>{esc(f.hypothesis)}</td><td>{b.before:g} → {b.worst:g} → {b.after:g}"
        f"</td><td>{esc(_recover(f))}</td></tr>"
        for f in findings
        for b in (f.evidence.breach,)
    )
    sev = ", ".join(f"{esc(k)} <b>{v}</b>" for k, v in s.by_severity.items())
    first = "none" if s.first_finding_at is None else f"injection {s.first_finding_at}"
    pictures = f"<p id='charts-note'><em>{esc(charts_note)}.</em></p>" if charts_note else (
        '<h2>Discovery curve</h2><img src="discovery.png" alt="Distinct findings against injections">\n'
        '<h2>Faults against the SLO signals</h2><img src="timeline.png" alt="Fault windows over the SLO signals">')
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
<li>First finding: {first}</li>
<li>Weaknesses: <b id="weaknesses">{len(weaknesses)}</b> (root causes; the findings are their evidence)</li></ul>
{html_section(weaknesses, findings)}{pictures}
<h2>Findings</h2><table id="findings"><tr><th>ID</th><th>Severity</th><th>Violation</th><th>Fault</th>
<th>Target</th><th>Affected</th><th>Seen</th><th>Injection</th><th>Hypothesis</th>
<th>Before → worst → after</th><th>Recovery</th></tr>
{rows}
</table></body></html>
"""


def write_report(
    findings: Sequence[Finding],
    experiments: Sequence[ExperimentRecord],
    out_dir: str | Path,
    *,
    generated_at: datetime | None = None,
    weaknesses: Sequence[WeaknessRecord] = (),
) -> ReportPaths:
    """``weaknesses`` (those the findings show) lead the report; the findings follow as their evidence."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    firsts = first_injections(findings, experiments)
    ordered = sorted(findings, key=lambda f: (-f.severity, firsts[f.signature], f.id))
    injections = max([len(experiments), *firsts.values()])
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    summary = summarise(ordered, experiments)
    discovery, timeline, note = _draw(ordered, experiments, [firsts[f.signature] for f in ordered], injections, out)
    paths = ReportPaths(markdown=out / "report.md", html=out / "report.html", findings_json=out / "findings.json",
                        discovery_png=discovery, timeline_png=timeline, charts_note=note)
    paths.markdown.write_text(_markdown(summary, ordered, firsts, when, note, weaknesses), encoding="utf-8")
    paths.html.write_text(_html(summary, ordered, firsts, when, note, weaknesses), encoding="utf-8")
    paths.findings_json.write_text(
        json.dumps(
            {
                "summary": summary.__dict__,
                "weaknesses": [r.to_report_dict() for r in weaknesses],
                "discovery": discovery_series([firsts[f.signature] for f in ordered], injections),
                "findings": [{**f.to_report_dict(), "injection": firsts[f.signature]} for f in ordered],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return paths


def _draw(findings: list[Finding], experiments: Sequence[ExperimentRecord], firsts: list[int], injections: int,
          out: Path) -> tuple[Path | None, Path | None, str]:
    """The two pictures, or (None, None, why not) when matplotlib is not installed."""
    try:
        from agent.report.charts import discovery_curve, fault_timeline
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith("matplotlib"):
            raise
        return None, None, NO_CHARTS
    return (discovery_curve(firsts, injections, out / "discovery.png"),
            fault_timeline(experiments, findings, out / "timeline.png"), "")
