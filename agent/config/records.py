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
    key_file: Path | None = setting(None, doc=(
        "File holding the audit key (at least 32 bytes; a Kubernetes Secret mounted as a file): every "
        "line is sealed with HMAC-SHA256 under it, so whoever can rewrite the journal but lacks the key "
        "cannot re-seal it. Unset: plain SHA-256, which anyone can recompute (verify warns). A journal "
        "keeps the key it was started with."))
    anchor_every_s: float = setting(300.0, minimum=10, maximum=86400, doc=(
        "How often the daemon publishes the journal's head hash where the agent cannot rewrite it (its "
        "log stream as an audit_head line, and a Kubernetes Event on the kubernetes backend), when the "
        "head moved; `audit verify --expected-head` checks a journal against a published head."))


@dataclass(frozen=True)
class FindingsSettings:
    path: Path = setting(Path("var/findings.sqlite"), doc=(
        "SQLite store (WAL) of findings, their tickets and the export queue; survives restarts."))
    report_dir: Path = setting(Path("var/report"), doc=(
        "Folder the game-day report (report.md, report.html, PNGs, findings.json) is written to."))
    drain_every_s: float = setting(60.0, minimum=1, maximum=86400, doc=(
        "How often the daemon sends queued exports; failed ones wait their own back-off on top."))
