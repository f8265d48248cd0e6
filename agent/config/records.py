"""[audit] and [findings]: where the journal and the findings live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.config.parse import setting


@dataclass(frozen=True)
class AuditSettings:
    path: Path = setting(Path("var/audit.jsonl"), doc="Append-only hash-chained JSON Lines journal.")


@dataclass(frozen=True)
class FindingsSettings:
    path: Path = setting(Path("var/findings.sqlite"), doc="SQLite store of findings and their exports.")
