"""Text for ``chaos-agent findings list`` and ``findings show``: a table and a detail page."""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import ChaosAgentError
from agent.findings.model import Finding
from agent.findings.store import ExportRef, FindingStore, QueueEntry


class UnknownFindingError(ChaosAgentError):
    """``findings show`` was given an id that matches no finding, or more than one."""


LIST_COLUMNS = ("ID", "SEVERITY", "VIOLATION", "FAULT", "TARGET", "AFFECTED", "SEEN")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_list(findings: Sequence[Finding], *, max_width: int = 48) -> str:
    """A fixed-width table, worst first; ``SEEN`` is the reproductions count."""
    if not findings:
        return "no findings yet\n"
    rows = [LIST_COLUMNS] + [
        (
            f.id,
            f"{f.severity:.2f} {f.severity_label}",
            f.violation,
            _cut(f.faults_text(), max_width),
            _cut(f.target, max_width),
            _cut(", ".join(f.affected), max_width),
            str(f.reproductions),
        )
        for f in sorted(findings, key=lambda f: (-f.severity, f.id))
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(LIST_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def _num(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:g}{unit}"


def render_show(finding: Finding, exports: Sequence[ExportRef] = (), queue: Sequence[QueueEntry] = ()) -> str:
    """Everything known about one finding, for a human deciding what to fix."""
    f, e = finding, finding.evidence.breach
    lines = [
        f"Finding {f.id}  ({f.severity:.2f} {f.severity_label})",
        f"  hypothesis     {f.hypothesis}",
        f"  violation      {f.violation}",
        f"  fault          {f.faults_text()}  (family {f.fault.family})",
        f"  target         {f.target}",
        f"  affected       {', '.join(f.affected)}",
        f"  reproductions  {f.reproductions}  (first injection #{f.injection_index}, "
        f"last #{f.last_injection_index if f.last_injection_index is not None else f.injection_index})",
        f"  first seen     {f.first_seen.isoformat()}",
        f"  last seen      {f.last_seen.isoformat()}",
        f"  signature      {f.signature}",
        "Evidence",
        f"  signal         {e.signal}  (threshold {e.threshold:g})",
        f"  before/worst/after  {e.before:g} / {e.worst:g} / {e.after:g}",
        f"  detected after {_num(e.detect_s, ' s')} ; recovered after revert {_num(e.recover_s, ' s')} ; "
        f"in breach {_num(e.breach_s, ' s')}",
    ]
    signals, series = finding.evidence.signals, finding.evidence.series
    if len(signals) > 1:
        lines.append(f"  also broken    {', '.join(s for s in signals if s != e.signal)}")
    if series:
        lines.append("  series (s since fault: value)  " + "  ".join(f"{t:g}:{v:g}" for t, v in series))
    if exports or queue:
        lines.append("Exports")
        for r in exports:
            lines.append(f"  {r.exporter:<14} {r.external_id}  {r.url}".rstrip())
        for q in queue:
            if q.status != "sent":
                when = q.next_attempt_at.isoformat() if q.next_attempt_at else "given up"
                lines.append(
                    f"  {q.exporter:<14} {q.status} after {q.attempts} attempt(s), next {when}"
                    + (f": {q.last_error}" if q.last_error else "")
                )
    return "\n".join(lines) + "\n"


def findings_list_text(store: FindingStore) -> str:
    """``chaos-agent findings list``."""
    return render_list(store.all())


def finding_show_text(store: FindingStore, key: str) -> str:
    """``chaos-agent findings show KEY``: KEY is an id, a unique id prefix, or a signature."""
    finding = store.get(key)
    if finding is None:
        raise UnknownFindingError(
            f"no single finding matches {key!r} in {store.path}; "
            "run `chaos-agent findings list` to see the ids"
        )
    return render_show(finding, store.export_refs(finding.signature), store.queue(finding.signature))
