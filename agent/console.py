"""Progress lines for people while the agent runs (the findings table is ``agent.findings.render_list``)."""

from __future__ import annotations

import sys
from typing import TextIO

from agent.loop import InjectionEvent


def progress_line(event: InjectionEvent, total: int, found_so_far: int) -> str:
    found = ", ".join(f"{f.violation} of {', '.join(f.affected)}" for f in event.new_findings)
    mark = f"FOUND {found}" if found else ""
    outcome = "ok" if event.outcome == "applied" else event.outcome
    return f"[{event.index:>3}/{total}] {event.action:<66} {outcome:<8} findings={found_so_far} {mark}".rstrip()


def print_progress(event: InjectionEvent, total: int, found_so_far: int, stream: TextIO = sys.stderr) -> None:
    print(progress_line(event, total, found_so_far), file=stream, flush=True)
