"""The journal's records: one JSON object per line, hash-chained, in the spirit of a Chaos Toolkit journal.

Each line is a JSON object with ``seq`` (0 for the header, then +1 per line), ``prev`` (SHA-256 hex of
the previous line's exact bytes, without its newline; 64 zeros for the header), ``kind`` and ``ts``
(UTC, ISO 8601), and last its seal over the line's own bytes up to that key, closed with ``}``, so a
damaged line is caught where it is: ``mac``, an HMAC-SHA256 under the audit key, in a keyed journal
(format 2, whose header names the key's ``key_id``); ``digest``, a plain SHA-256 anyone can recompute,
in an unkeyed one (format 1). The other keys appear when they apply. docs/safety.md gives the format.
"""

from __future__ import annotations

import hashlib
import hmac
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
"""An unkeyed journal: every line sealed with a plain SHA-256 ``digest``."""
KEYED_FORMAT = "chaos-agent-audit/2"
"""A keyed journal: every line sealed with an HMAC-SHA256 ``mac``; the header names the ``key_id``."""
GENESIS = "0" * 64
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class Sealer:
    """How lines are sealed: with the audit key (HMAC-SHA256) or, for an unkeyed journal, plain SHA-256."""

    key: bytes | None = None

    def __post_init__(self) -> None:
        if self.key is not None and len(self.key) < MIN_KEY_BYTES:
            raise AuditError(f"the audit key has {len(self.key)} bytes; it needs at least {MIN_KEY_BYTES}")

    @property
    def tag_name(self) -> str:
        return "mac" if self.key is not None else "digest"

    @property
    def format(self) -> str:
        return KEYED_FORMAT if self.key is not None else FORMAT

    @property
    def key_id(self) -> str | None:
        """A public name of the key (it reveals nothing of it), recorded in a keyed journal's header."""
        if self.key is None:
            return None
        return hmac.new(self.key, b"chaos-agent audit key id", hashlib.sha256).hexdigest()[:16]

    def tag(self, body: bytes) -> str:
        if self.key is None:
            return hashlib.sha256(body).hexdigest()
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"Sealer(key_id={self.key_id})"  # never the key


UNKEYED = Sealer()


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
    "format", "key_id", "agent_version", "config_hash", "policy_hash",
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
    key_id: str | None = None
    """In a keyed journal's header: which key seals it (``Sealer.key_id``)."""
    agent_version: str | None = None
    config_hash: str | None = None
    policy_hash: str | None = None

    def to_line(self, sealer: Sealer = UNKEYED) -> bytes:
        """The record's exact bytes on disk, without the newline."""
        body: dict[str, Any] = {"seq": self.seq, "prev": self.prev, "kind": self.kind.value, "ts": self.ts}
        for key in OPTIONAL_KEYS:
            value = getattr(self, key)
            if value is None or value == ():
                continue
            body[key] = fault_to_json(value) if isinstance(value, Fault) else (
                list(value) if isinstance(value, tuple) else value)
        return seal(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), sealer)


_SEALED = re.compile(rb'(\{.*),"(digest|mac)":"([0-9a-f]{64})"\}', re.DOTALL)


def seal(body: bytes, sealer: Sealer = UNKEYED) -> bytes:
    """Append the seal of a serialised JSON object to it, as its last key."""
    return body[:-1] + f',"{sealer.tag_name}":"{sealer.tag(body)}"}}'.encode("ascii")


def seal_ok(line: bytes, sealer: Sealer = UNKEYED) -> bool:
    """The line ends with ``sealer``'s seal of everything before it: it is as written (by the key holder)."""
    m = _SEALED.fullmatch(line)
    return (m is not None and m[2].decode("ascii") == sealer.tag_name
            and hmac.compare_digest(sealer.tag(m[1] + b"}"), m[3].decode("ascii")))


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
