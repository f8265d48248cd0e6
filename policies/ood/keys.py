"""Answer keys of the out-of-distribution suite: benchmarks/ood/<case>/answer-key.toml, read and checked.

A key lists the case's weaknesses (root cause, affected workloads, violations, the design-basis faults
that reveal it) and its decoys. Its format is in benchmarks/ood/README.md; every mistake in a key is
one ``AnswerKeyError`` naming the file, the entry and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from envs.cluster import VIOLATIONS, Violation
from envs.faults import CATALOG, INTENSITY_NAMES, FaultKind
from envs.weaknesses import KNOWN_CAUSES, RootCause

SCHEMA = 1
ANNOTATION_STYLES = ("chaos-agent", "none")


class AnswerKeyError(ValueError):
    """An answer key that cannot be used: the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Reveal:
    """Faults of ``kinds`` (at ``min_intensity`` or above) that show a weakness, on one kind of target.

    Exactly one of ``target`` (a workload key), ``node_of`` (any node that hosted a pod of that
    workload when the fault started) and ``node_label`` (any node carrying ``key=value``).
    ``min_nodes`` distinct nodes must be hit together (two for a zone-wide weakness).
    """

    kinds: frozenset[FaultKind]
    target: str | None = None
    node_of: str | None = None
    node_label: tuple[str, str] | None = None
    min_intensity: int = 0
    min_nodes: int = 1

    @property
    def workloads(self) -> tuple[str, ...]:
        """The workload keys the requirement names."""
        return tuple(k for k in (self.target, self.node_of) if k is not None)


@dataclass(frozen=True)
class KeyWeakness:
    id: str
    kind: RootCause
    root: tuple[str, ...]
    affected: tuple[str, ...]
    violations: tuple[Violation, ...]
    reveal: tuple[Reveal, ...]
    why: str


@dataclass(frozen=True)
class KeyDecoy:
    target: str
    flagged_for: str
    why: str


@dataclass(frozen=True)
class AnswerKey:
    case: str
    shape: str
    annotations: str
    """``chaos-agent`` (the case uses the annotation contract) or ``none`` (plain Kubernetes)."""
    weaknesses: tuple[KeyWeakness, ...]
    decoys: tuple[KeyDecoy, ...]

    @property
    def workloads(self) -> frozenset[str]:
        """Every workload key the key names."""
        names = {d.target for d in self.decoys}
        for w in self.weaknesses:
            names.update(w.root, w.affected)
            for r in w.reveal:
                names.update(r.workloads)
        return frozenset(names)


def load_answer_key(path: Path) -> AnswerKey:
    try:
        text = path.read_text()
    except OSError as e:
        raise AnswerKeyError(f"{path}: cannot be read: {e.strerror}") from e
    return parse_answer_key(text, source=str(path))


def parse_answer_key(text: str, *, source: str) -> AnswerKey:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise AnswerKeyError(f"{source}: not valid TOML: {e}") from e
    where = _Where(source)
    if raw.get("schema") != SCHEMA:
        raise where.error("schema", f"must be {SCHEMA}, got {raw.get('schema')!r}")
    _only(raw, {"schema", "case", "shape", "annotations", "weakness", "decoy"}, where)
    annotations = _text(raw, "annotations", where)
    if annotations not in ANNOTATION_STYLES:
        raise where.error("annotations", f"must be one of {', '.join(ANNOTATION_STYLES)}, got {annotations!r}")
    weaknesses = tuple(_weakness(w, where.at(f"weakness[{i}]")) for i, w in enumerate(_tables(raw, "weakness", where)))
    decoys = tuple(_decoy(d, where.at(f"decoy[{i}]")) for i, d in enumerate(_tables(raw, "decoy", where)))
    ids = [w.id for w in weaknesses]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise where.error("weakness", f"id {duplicate!r} is used twice")
    return AnswerKey(case=_text(raw, "case", where), shape=_text(raw, "shape", where), annotations=annotations,
                     weaknesses=weaknesses, decoys=decoys)


@dataclass(frozen=True)
class _Where:
    source: str
    entry: str = ""

    def at(self, entry: str) -> _Where:
        return _Where(self.source, f"{self.entry}.{entry}" if self.entry else entry)

    def error(self, field: str, problem: str) -> AnswerKeyError:
        path = f"{self.entry}.{field}" if self.entry else field
        return AnswerKeyError(f"{self.source}: {path} {problem}")


def _only(table: Mapping[str, Any], allowed: set[str], where: _Where) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise where.error(unknown[0], f"is not a field of an answer key (allowed: {', '.join(sorted(allowed))})")


def _text(table: Mapping[str, Any], field: str, where: _Where) -> str:
    value = table.get(field)
    if not isinstance(value, str) or not value.strip():
        raise where.error(field, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _texts(table: Mapping[str, Any], field: str, where: _Where) -> tuple[str, ...]:
    value = table.get(field)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise where.error(field, f"must be a non-empty list of strings, got {value!r}")
    return tuple(cast(list[str], value))


def _tables(raw: Mapping[str, Any], field: str, where: _Where) -> list[Mapping[str, Any]]:
    value = raw.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise where.error(field, "must be an array of tables ([[" + field + "]])")
    return cast(list[Mapping[str, Any]], value)


def _workload_key(value: str, field: str, where: _Where) -> str:
    parts = value.split("/")
    if len(parts) != 3 or parts[1] not in ("Deployment", "StatefulSet", "Job") or not all(parts):
        raise where.error(field, f"must be a workload key namespace/Kind/name (Deployment, StatefulSet or Job), "
                                 f"got {value!r}")
    return value


def _weakness(table: Mapping[str, Any], where: _Where) -> KeyWeakness:
    _only(table, {"id", "kind", "root", "affected", "violations", "reveal", "why"}, where)
    kind = _text(table, "kind", where)
    if kind not in {c.value for c in KNOWN_CAUSES}:
        raise where.error("kind", f"must be a known root cause ({', '.join(c.value for c in KNOWN_CAUSES)}), "
                                  f"got {kind!r}")
    violations = _texts(table, "violations", where)
    bad = next((v for v in violations if v not in VIOLATIONS), None)
    if bad is not None:
        raise where.error("violations", f"must name violations among {', '.join(VIOLATIONS)}, got {bad!r}")
    reveal = table.get("reveal")
    if not isinstance(reveal, list) or not reveal or not all(isinstance(r, dict) for r in reveal):
        raise where.error("reveal", "must be a non-empty list of tables")
    return KeyWeakness(
        id=_text(table, "id", where), kind=RootCause(kind),
        root=tuple(_workload_key(r, "root", where) for r in _texts(table, "root", where)),
        affected=tuple(_workload_key(a, "affected", where) for a in _texts(table, "affected", where)),
        violations=tuple(cast(Violation, v) for v in violations),
        reveal=tuple(_reveal(r, where.at(f"reveal[{i}]")) for i, r in enumerate(reveal)),
        why=_text(table, "why", where),
    )


def _reveal(table: Mapping[str, Any], where: _Where) -> Reveal:
    _only(table, {"kinds", "target", "node_of", "node_label", "min_intensity", "min_nodes"}, where)
    kinds = _texts(table, "kinds", where)
    known = {k.value for k in FaultKind}
    bad = next((k for k in kinds if k not in known), None)
    if bad is not None:
        raise where.error("kinds", f"must name fault kinds ({', '.join(sorted(known))}), got {bad!r}")
    places = [f for f in ("target", "node_of", "node_label") if f in table]
    if len(places) != 1:
        raise where.error("target", "needs exactly one of target, node_of and node_label")
    wanted = "workload" if places[0] == "target" else "node"
    misplaced = next((k for k in kinds if CATALOG[FaultKind(k)].target != wanted), None)
    if misplaced is not None:
        raise where.error("kinds", f"names {misplaced!r}, which targets a {CATALOG[FaultKind(misplaced)].target}, "
                                   f"with {places[0]} (a {wanted})")
    node_label = None
    if "node_label" in table:
        label = _text(table, "node_label", where)
        if "=" not in label:
            raise where.error("node_label", f"must be key=value, got {label!r}")
        name, value = label.split("=", 1)
        node_label = (name, value)
    min_intensity = table.get("min_intensity", 0)
    if not isinstance(min_intensity, int) or not 0 <= min_intensity < len(INTENSITY_NAMES):
        raise where.error("min_intensity", f"must be 0, 1 or 2, got {min_intensity!r}")
    min_nodes = table.get("min_nodes", 1)
    if not isinstance(min_nodes, int) or min_nodes < 1 or (min_nodes > 1 and "target" in table):
        raise where.error("min_nodes", f"must be a whole number >= 1, and 1 for a workload target, got {min_nodes!r}")
    return Reveal(
        kinds=frozenset(FaultKind(k) for k in kinds),
        target=_workload_key(_text(table, "target", where), "target", where) if "target" in table else None,
        node_of=_workload_key(_text(table, "node_of", where), "node_of", where) if "node_of" in table else None,
        node_label=node_label, min_intensity=min_intensity, min_nodes=min_nodes,
    )


def _decoy(table: Mapping[str, Any], where: _Where) -> KeyDecoy:
    _only(table, {"target", "flagged_for", "why"}, where)
    return KeyDecoy(target=_workload_key(_text(table, "target", where), "target", where),
                    flagged_for=_text(table, "flagged_for", where), why=_text(table, "why", where))
