"""A weakness as the agent keeps it: the root cause (``envs.weaknesses.Weakness``), its status, its fix.

``WeaknessRecord.to_report_dict`` is the JSON shape of the report's ``"weaknesses"`` list: the contract
keys ``id``, ``title``, ``kind``, ``targets``, ``severity``, ``findings`` and ``remediation`` (``patch``,
``verified``) first, then extras. The same dict is what the store keeps, so a record round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from envs.weaknesses import Aspect, RootCause, Weakness

Status = Literal["open", "resolved"]
TicketEvent = Literal["opened", "reproduced", "resolved", "reopened"]
TICKET_EVENTS: tuple[TicketEvent, ...] = ("opened", "reproduced", "resolved", "reopened")


@dataclass(frozen=True)
class Remedy:
    """The fix: a summary, the patch as YAML, and whether the twin verified it."""

    summary: str
    patch: str
    verified: bool
    detail: str
    """How the verification went (runs before and after), or why there was none."""

    def to_dict(self) -> dict[str, Any]:
        return {"patch": self.patch, "verified": self.verified, "summary": self.summary, "detail": self.detail}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Remedy:
        return cls(summary=d.get("summary", ""), patch=d["patch"], verified=bool(d["verified"]),
                   detail=d.get("detail", ""))


@dataclass(frozen=True)
class WeaknessRecord:
    weakness: Weakness
    status: Status
    first_seen: datetime
    last_seen: datetime
    remedy: Remedy | None
    resolved_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.weakness.id

    def with_weakness(self, weakness: Weakness) -> WeaknessRecord:
        return replace(self, weakness=weakness)

    def to_report_dict(self) -> dict[str, Any]:
        w = self.weakness
        return {
            "id": w.id,
            "title": w.title,
            "kind": w.cause.value,
            "targets": list(w.targets),
            "severity": w.severity,
            "findings": list(w.findings),
            "remediation": None if self.remedy is None else self.remedy.to_dict(),
            "severity_label": w.severity_label,
            "status": self.status,
            "explanation": w.explanation,
            "slos": list(w.slos),
            "locus": w.locus,
            "importance": w.importance,
            "aspects": [{"kind": a.cause.value, "locus": a.locus, "variant": a.variant, "detail": a.detail}
                        for a in w.aspects],
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
        }

    @classmethod
    def from_report_dict(cls, d: Mapping[str, Any]) -> WeaknessRecord:
        weakness = Weakness(
            id=d["id"], cause=RootCause(d["kind"]), locus=d["locus"], title=d["title"], explanation=d["explanation"],
            targets=tuple(d["targets"]), slos=tuple(d["slos"]), severity=float(d["severity"]),
            importance=float(d["importance"]), findings=tuple(d["findings"]),
            aspects=tuple(Aspect(RootCause(a["kind"]), a["locus"], a["variant"], a["detail"]) for a in d["aspects"]),
        )
        remedy = d.get("remediation")
        resolved = d.get("resolved_at")
        return cls(weakness=weakness, status=d["status"], first_seen=datetime.fromisoformat(d["first_seen"]),
                   last_seen=datetime.fromisoformat(d["last_seen"]),
                   remedy=None if remedy is None else Remedy.from_dict(remedy),
                   resolved_at=None if resolved is None else datetime.fromisoformat(resolved))
