"""What the CLI prints for people: progress lines while the agent runs, and the findings table."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from agent.loop import InjectionEvent


def progress_line(event: InjectionEvent, total: int, found_so_far: int) -> str:
    mark = "FOUND " + ", ".join(f"{f['violation']}" for f in event.new_findings) if event.new_findings else ""
    outcome = event.outcome if event.outcome != "applied" else "ok"
    return f"[{event.index:>3}/{total}] {event.action:<70} {outcome:<8} findings={found_so_far} {mark}".rstrip()


def print_progress(event: InjectionEvent, total: int, found_so_far: int, stream: TextIO = sys.stderr) -> None:
    print(progress_line(event, total, found_so_far), file=stream, flush=True)


def _cell(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def findings_table(findings: Sequence[dict[str, Any]]) -> str:
    if not findings:
        return "No findings: every steady-state hypothesis held under every fault tried."
    cols = (("ID", 6), ("SEVERITY", 9), ("VIOLATION", 17), ("FAULT", 30), ("TARGET", 42), ("AFFECTED", 40),
            ("AT", 4))
    lines = ["  ".join(name.ljust(w) for name, w in cols)]
    for f in findings:
        fault = f"{f['fault']['kind']}[{f['fault']['intensity']}]"
        if f.get("concurrent_faults"):
            fault += " + " + ", ".join(c["kind"] for c in f["concurrent_faults"])
        row = (f["id"], f["severity"], f["violation"], fault, f["target"], ", ".join(f["affected"]),
               str(f["injection_index"]))
        lines.append("  ".join(_cell(v, w).ljust(w) for v, (_, w) in zip(row, cols, strict=True)).rstrip())
    return "\n".join(lines)
