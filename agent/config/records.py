"""[audit] and [findings]: where the journal and the findings live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.config.parse import setting


@dataclass(frozen=True)
class AuditSettings:
    """[audit]: the tamper-evident journal (format and guarantees in docs/safety.md)."""

    path: Path = setting(Path("var/audit.jsonl"), doc=(
        "Append-only, hash-chained JSON Lines journal, one writer at a time. Every intent is fsynced "
        "before its fault is applied. Relative to the config file's folder. Rotation is not done: "
        "archive and start a new file between game days."))


@dataclass(frozen=True)
class FindingsSettings:
    path: Path = setting(Path("var/findings.sqlite"), doc=(
        "SQLite store (WAL) of findings, their tickets and the export queue; survives restarts."))
    report_dir: Path = setting(Path("var/report"), doc=(
        "Folder the game-day report (report.md, report.html, PNGs, findings.json) is written to."))
    drain_every_s: float = setting(60.0, minimum=1, maximum=86400, doc=(
        "How often the daemon sends queued exports; failed ones wait their own back-off on top."))
