"""The journal's records: one JSON object per line, hash-chained, in the spirit of a Chaos Toolkit journal.

Each line is a JSON object with ``seq`` (0 for the header, then +1 per line), ``prev`` (SHA-256 hex of
the previous line's exact bytes, without its newline; 64 zeros for the header), ``kind`` and ``ts``
(UTC, ISO 8601), and last ``digest``: SHA-256 of the line's own bytes up to that key, closed with
``}``, so a damaged line is caught where it is. The other keys appear when they apply.
docs/safety.md gives the full format.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from agent.errors import AuditError
from envs.faults import Fault, FaultKind

FORMAT = "chaos-agent-audit/1"
GENESIS = "0" * 64


class RecordKind(StrEnum):
    HEADER = "header"
    INTENT = "intent"
    OUTCOME = "outcome"
    REVERT = "revert"
    FINDING = "finding"
    HALT = "halt"
    RESUME = "resume"
    NOTE = "note"


OPTIONAL_KEYS = (
    "injection_id", "fault", "target", "status", "detail", "exception", "pods", "finding_id",
    "format", "agent_version", "config_hash", "policy_hash",
)


@dataclass(frozen=True)
class AuditRecord:
    """One line of the journal, as written or read."""

    seq: int
    prev: str
    kind: RecordKind
    ts: str
    injection_id: str | None = None
    fault: Fault | None = None
    target: str | None = None
    status: str | None = None
    detail: str | None = None
    exception: str | None = None
    """The exception as text (type, message and traceback) when the activity failed."""
    pods: tuple[str, ...] = ()
    finding_id: str | None = None
    format: str | None = None
    agent_version: str | None = None
    config_hash: str | None = None
    policy_hash: str | None = None

    def to_line(self) -> bytes:
        """The record's exact bytes on disk, without the newline."""
        body: dict[str, Any] = {"seq": self.seq, "prev": self.prev, "kind": self.kind.value, "ts": self.ts}
        for key in OPTIONAL_KEYS:
            value = getattr(self, key)
            if value is None or value == ():
                continue
            body[key] = fault_to_json(value) if isinstance(value, Fault) else (
                list(value) if isinstance(value, tuple) else value)
        return seal(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


_SEALED = re.compile(rb'(\{.*),"digest":"([0-9a-f]{64})"\}', re.DOTALL)


def seal(body: bytes) -> bytes:
    """Append the ``digest`` of a serialised JSON object to it, as its last key."""
    return body[:-1] + b',"digest":"' + hashlib.sha256(body).hexdigest().encode("ascii") + b'"}'


def seal_ok(line: bytes) -> bool:
    """The line ends with a digest of everything before it: it is as written."""
    m = _SEALED.fullmatch(line)
    return m is not None and hashlib.sha256(m[1] + b"}").hexdigest() == m[2].decode("ascii")


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def fault_to_json(fault: Fault) -> dict[str, Any]:
    return {"kind": fault.kind.value, "intensity": fault.intensity, "target": fault.target,
            "duration_s": fault.duration_s}


def fault_from_json(raw: Any) -> Fault:
    try:
        kind, target = FaultKind(raw["kind"]), str(raw["target"])
        return Fault(kind, int(raw["intensity"]), target, float(raw["duration_s"]))
    except (KeyError, TypeError, ValueError) as e:
        raise AuditError(
            f"a journal fault must have kind, intensity, target and duration_s, got {raw!r}") from e


def parse_line(line: bytes) -> AuditRecord | None:
    """The record on a line, or None when the line is not a well-formed record."""
    try:
        raw = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(raw, Mapping):
        return None
    try:
        if not isinstance(raw["seq"], int) or isinstance(raw["seq"], bool):
            return None
        if not isinstance(raw["prev"], str) or not isinstance(raw["ts"], str):
            return None
        kind = RecordKind(raw["kind"])
        fault = fault_from_json(raw["fault"]) if "fault" in raw else None
        extra = {k: raw[k] for k in OPTIONAL_KEYS if k in raw and k not in ("fault", "pods")}
        if not all(isinstance(v, str) for v in extra.values()):
            return None
        pods = raw.get("pods", [])
        if not isinstance(pods, list) or not all(isinstance(p, str) for p in pods):
            return None
        return AuditRecord(seq=raw["seq"], prev=raw["prev"], kind=kind, ts=raw["ts"], fault=fault,
                           pods=tuple(pods), **extra)
    except (KeyError, ValueError, AuditError):
        return None
