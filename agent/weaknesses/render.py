"""Text for people: ``chaos-agent weaknesses list|show``, and the weaknesses that lead a run's summary."""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import ChaosAgentError
from agent.findings.model import Finding
from agent.findings.store import ExportRef
from agent.weaknesses.model import WeaknessRecord
from agent.weaknesses.store import EventEntry
from envs.weaknesses import Impact, RootCause

LIST_COLUMNS = ("ID", "SEVERITY", "KIND", "STATUS", "FIX", "FINDINGS", "TITLE")


class UnknownWeaknessError(ChaosAgentError):
    """``weaknesses show`` was given an id that matches no weakness, or more than one."""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def fix_state(record: WeaknessRecord) -> str:
    if record.remedy is None:
        return "none" if record.weakness.cause is RootCause.UNEXPLAINED else "unknown"
    if not record.remedy.patch:
        return "advice"
    return "verified" if record.remedy.verified else "unverified"


def render_weakness_list(records: Sequence[WeaknessRecord], *, max_width: int = 90) -> str:
    """A fixed-width table, open first, worst first; FIX says whether the twin verified the patch."""
    if not records:
        return "no weaknesses\n"
    rows = [LIST_COLUMNS] + [
        (r.id, f"{r.weakness.severity:.2f} {r.weakness.severity_label}", r.weakness.cause.value, r.status,
         fix_state(r), str(len(r.weakness.findings)), _cut(r.weakness.title, max_width))
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LIST_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def render_weakness(record: WeaknessRecord, findings: Sequence[Finding], tickets: Sequence[ExportRef] = (),
                    events: Sequence[EventEntry] = (), *, patch: bool = True) -> str:
    """Everything about one weakness, for the person who fixes it: why, what it breaks, the fix, the evidence."""
    w = record.weakness
    lines = [
        f"Weakness {w.id}  ({w.severity:.2f} {w.severity_label}, {record.status})",
        f"  {w.title}",
        f"  kind           {w.cause.value}" + "".join(f", {a.cause.value}" for a in w.aspects[1:]),
        f"  component      {w.locus}",
        f"  targets        {', '.join(w.targets)}",
        f"  breaks         {'; '.join(w.slos)}",
        f"  importance     {w.importance:.2f} (share of the busiest entry's traffic on its path)",
        f"  first seen     {record.first_seen.isoformat()}",
        f"  last seen      {record.last_seen.isoformat()}",
    ]
    if record.resolved_at is not None:
        lines.append(f"  resolved       {record.resolved_at.isoformat()}")
    lines += ["Why", f"  {w.explanation}"]
    if w.cause is RootCause.UNEXPLAINED:
        lines.append("  (unexplained: no known root cause fits; read the evidence)")
    fix = record.remedy
    lines.append("Fix")
    if fix is None:
        lines.append("  none known")
    else:
        lines += [f"  {fix.summary}", f"  {'verified in the twin' if fix.verified else 'not verified'}: {fix.detail}"]
        if patch and fix.patch:
            lines += ["  patch:"] + [f"    {line}" for line in fix.patch.rstrip().splitlines()]
    lines.append(f"Evidence ({len(w.findings)} finding(s))")
    by_id = {f.id: f for f in findings}
    for fid in w.findings:
        f = by_id.get(fid)
        lines.append(f"  {fid}  " + (f"{f.faults_text()}: {f.hypothesis} (seen {f.reproductions}x)" if f else "(gone)"))
    if tickets or events:
        lines.append("Tickets")
        for t in tickets:
            lines.append(f"  {t.exporter:<14} {t.external_id}  {t.url}".rstrip())
        for e in events:
            if e.status != "sent":
                lines.append(f"  {e.exporter:<14} {e.event} {e.status} after {e.attempts} attempt(s)"
                             + (f": {e.last_error}" if e.last_error else ""))
    return "\n".join(lines) + "\n"


def render_impacts(impacts: Sequence[Impact]) -> str:
    """The blast-radius map: what faults beyond the design basis broke. Impact, not weaknesses."""
    if not impacts:
        return ""
    lines = ["Beyond the design basis (impact, not weaknesses):"]
    for i in impacts:
        faults = " + ".join(f"{f.kind.value}[{('low', 'medium', 'high')[f.intensity]}] on {f.target}" for f in i.faults)
        lines.append(f"  {faults} broke {i.violation} of {', '.join(i.affected)}")
        lines.append(f"      beyond: {i.reason}")
    return "\n".join(lines) + "\n"


def unknown(key: str, where: str) -> UnknownWeaknessError:
    return UnknownWeaknessError(f"no single weakness matches {key!r} in {where}; "
                                "run `chaos-agent weaknesses list` to see the ids")
