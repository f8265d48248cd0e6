"""The findings store: SQLite (WAL) holding findings by signature, their tickets, and the export queue.

A repeat of a finding updates the stored row (reproductions, last seen, worst evidence) instead of
adding one. Each exporter's external id is kept per finding, so a recurrence comments on the ticket
already opened. The queue records every export to do, with attempts and the next attempt time, and
an export is marked sent in the same transaction that records its ticket: after a restart nothing
queued is lost and nothing sent is sent again. Each experiment of a run is kept too, for the report.

A damaged store does not take its readers down: a row whose JSON cannot be read is skipped, and a table
with a corrupted page is read row by row around it; each problem is one line to ``on_unreadable`` (a
warning in the log by default; the CLI prints it). A write that fails raises ``FindingStoreError``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import structlog

from agent.errors import ChaosAgentError
from agent.findings.experiments import ExperimentRecord
from agent.findings.model import Finding
from agent.findings.sqlite import open_database, parse_store_time, store_time, transaction

log = structlog.get_logger(__name__)
SCHEMA_VERSION = 2
FINDING_COLUMNS = "rowid, id, signature, body"
SHOWN_MATCHES = 5
"""How many of the findings an ambiguous id prefix matches the error names."""
QueueStatus = Literal["pending", "sent", "failed"]

_SCHEMA = """
CREATE TABLE findings (
    signature TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    severity REAL NOT NULL,
    reproductions INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    injection_index INTEGER NOT NULL
);
CREATE TABLE exports (
    signature TEXT NOT NULL REFERENCES findings(signature),
    exporter TEXT NOT NULL,
    external_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    first_sent TEXT NOT NULL,
    last_sent TEXT NOT NULL,
    PRIMARY KEY (signature, exporter)
);
CREATE TABLE export_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signature TEXT NOT NULL REFERENCES findings(signature),
    exporter TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    enqueued_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE UNIQUE INDEX export_queue_one_open ON export_queue(signature, exporter) WHERE status != 'sent';
CREATE INDEX export_queue_due ON export_queue(status, next_attempt_at);
"""
_EXPERIMENTS = """
CREATE TABLE experiments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    injection INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX experiments_run ON experiments(run_id, seq);
"""
MIGRATIONS = {0: _SCHEMA + _EXPERIMENTS, 1: _EXPERIMENTS}
"""Statements that bring a store of each older schema version to ``SCHEMA_VERSION``."""


class FindingStoreError(ChaosAgentError):
    """The findings store cannot be opened or is from a newer version of the agent."""


class AmbiguousFindingKey(ChaosAgentError):
    """An id prefix that matches more than one finding: it names none of them."""


@dataclass(frozen=True)
class ExportRef:
    """Where a finding lives in an external system."""

    exporter: str
    external_id: str
    url: str = ""


@dataclass(frozen=True)
class QueueEntry:
    id: int
    signature: str
    exporter: str
    status: QueueStatus
    attempts: int
    next_attempt_at: datetime | None
    """None on a failed entry: the queue gave up (a new recurrence revives it)."""
    last_error: str
    enqueued_at: datetime


class FindingStore:
    """One SQLite file; safe to share between the daemon's threads."""

    def __init__(self, path: str | Path, *, on_unreadable: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_unreadable = on_unreadable or _log_unreadable
        """Told, in one line each, what could not be read (a bad row, a damaged page)."""
        try:
            self._db = open_database(self.path)
        except (OSError, sqlite3.Error) as e:
            raise FindingStoreError(
                f"cannot open the findings store {self.path}: {e}; check findings.path in the config"
            ) from e
        self._lock = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise FindingStoreError(
                    f"the findings store {self.path} has schema version {version}, newer than this agent's "
                    f"{SCHEMA_VERSION}; upgrade chaos-agent or point findings.path to another file"
                )
            if version < SCHEMA_VERSION:
                with self._tx():
                    for statement in MIGRATIONS[version].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise FindingStoreError(f"{self.path} is not a usable findings store: {e}") from e

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock,
                           lambda e: FindingStoreError(f"the findings store {self.path} cannot be written: {e}"))

    def _rows(self, table: str, columns: str, where: str = "", params: tuple[Any, ...] = (),
              order: str = "") -> list[sqlite3.Row]:
        """``SELECT columns FROM table [WHERE where] [ORDER BY order]``; on a damaged table, every row that can
        still be read, unordered (said once)."""
        sql = f"SELECT {columns} FROM {table}" + (f" WHERE {where}" if where else "") + (
            f" ORDER BY {order}" if order else "")
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                self.on_unreadable(f"{self.path}: the {table} table cannot be read whole ({e}); reading the "
                                   "rows that are left one by one")
                return self._salvage(table, columns, where, params)

    def _salvage(self, table: str, columns: str, where: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        """Each matching row that lies on a readable page, found by rowid through the table or any index."""
        rowids: set[int] = set()
        indexes: list[str] = []
        with contextlib.suppress(sqlite3.DatabaseError):
            indexes = [r["name"] for r in self._db.execute(f"PRAGMA index_list({table})").fetchall()]
        for source in (table, *(f"{table} INDEXED BY {name}" for name in indexes)):
            with contextlib.suppress(sqlite3.DatabaseError):  # a damaged page ends this scan; the next may go on
                for row in self._db.execute(f"SELECT rowid FROM {source}"):
                    rowids.add(row[0])
        one = f"SELECT {columns} FROM {table} WHERE rowid = ?" + (f" AND ({where})" if where else "")
        rows, lost = [], 0
        for rowid in sorted(rowids):
            try:
                row = self._db.execute(one, (rowid, *params)).fetchone()
            except sqlite3.DatabaseError:
                lost += 1
                continue
            if row is not None:
                rows.append(row)
        if lost:
            self.on_unreadable(f"{self.path}: {lost} row(s) of {table} lie on damaged pages and are lost; "
                               "the rest is shown")
        return rows

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """A read that must be whole (tickets, the queue): a damaged store is a FindingStoreError."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise FindingStoreError(f"the findings store {self.path} cannot be read: {e}") from e

    def _finding(self, row: sqlite3.Row) -> Finding | None:
        try:
            return Finding.from_report_dict(json.loads(row["body"]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self.on_unreadable(f"{self.path}: finding {row['signature'][:12]} (row {row['rowid']}) cannot be read "
                               f"({type(e).__name__}: {str(e)[:120]}); it is skipped")
            return None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FindingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # findings

    def upsert(self, finding: Finding) -> tuple[Finding, bool]:
        """Store a finding or merge a repeat into the stored one; returns it as stored, and if it is new."""
        with self._tx() as db:
            row = db.execute(f"SELECT {FINDING_COLUMNS} FROM findings WHERE signature = ?",
                             (finding.signature,)).fetchone()
            known = None if row is None else self._finding(row)
            stored = finding if known is None else known.merged_with(finding)
            db.execute(
                "INSERT INTO findings (signature, id, body, severity, reproductions, first_seen, last_seen, "
                "injection_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(signature) DO UPDATE SET "
                "body = excluded.body, severity = excluded.severity, reproductions = excluded.reproductions, "
                "last_seen = excluded.last_seen, first_seen = excluded.first_seen, "
                "injection_index = excluded.injection_index",
                (
                    stored.signature,
                    stored.id,
                    json.dumps(stored.to_report_dict()),
                    stored.severity,
                    stored.reproductions,
                    store_time(stored.first_seen),
                    store_time(stored.last_seen),
                    stored.injection_index,
                ),
            )
        return stored, row is None

    def get(self, key: str) -> Finding | None:
        """A finding by id (``F-...``, a unique prefix is enough) or by signature; None when nothing
        matches. A prefix that matches several findings raises ``AmbiguousFindingKey``."""
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._rows("findings", FINDING_COLUMNS, "signature = ? OR id = ? OR id LIKE ? ESCAPE '\\'",
                          (key, key, escaped + "%" if key.startswith("F-") else escaped), order="id")
        exact = [r for r in rows if key in (r["id"], r["signature"])]
        if exact or len(rows) == 1:
            return self._finding((exact or rows)[0])
        if rows:
            ids = ", ".join(r["id"] for r in rows[:SHOWN_MATCHES]) + (", ..." if len(rows) > SHOWN_MATCHES else "")
            raise AmbiguousFindingKey(f"{key!r} matches more than one finding ({ids}); give more characters of "
                                      "the id (`chaos-agent findings list` shows them)")
        return None

    def all(self) -> list[Finding]:
        """Every finding that can be read, worst first."""
        rows = self._rows("findings", FINDING_COLUMNS, order="severity DESC, first_seen, id")
        found = [f for f in (self._finding(r) for r in rows) if f is not None]
        return sorted(found, key=lambda f: (-f.severity, f.first_seen, f.id))

    # experiments

    def record_experiment(self, run_id: str, record: ExperimentRecord, now: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO experiments (run_id, injection, recorded_at, body) VALUES (?, ?, ?, ?)",
                       (run_id, record.injection, store_time(now), json.dumps(record.to_dict())))

    def latest_run(self) -> str | None:
        """The run whose experiment was recorded last."""
        rows = self._rows("experiments", "seq, run_id")
        return str(max(rows, key=lambda r: r["seq"])["run_id"]) if rows else None

    def experiments(self, run_id: str | None = None) -> list[ExperimentRecord]:
        """A run's experiments (every run's when None) that can be read, in the order they happened."""
        rows = self._rows("experiments", "seq, run_id, body", "? IS NULL OR run_id = ?", (run_id, run_id), "seq")
        out = []
        for r in sorted(rows, key=lambda r: r["seq"]):
            try:
                out.append(ExperimentRecord.from_dict(json.loads(r["body"])))
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                self.on_unreadable(f"{self.path}: experiment row {r['seq']} of run {r['run_id']} cannot be read "
                                   f"({type(e).__name__}); it is left out")
        return out

    # tickets

    def export_ref(self, signature: str, exporter: str) -> ExportRef | None:
        rows = self._query(
            "SELECT external_id, url FROM exports WHERE signature = ? AND exporter = ?", (signature, exporter)
        )
        return None if not rows else ExportRef(exporter, rows[0]["external_id"], rows[0]["url"])

    def export_refs(self, signature: str) -> list[ExportRef]:
        rows = self._query(
            "SELECT exporter, external_id, url FROM exports WHERE signature = ? ORDER BY exporter", (signature,)
        )
        return [ExportRef(r["exporter"], r["external_id"], r["url"]) for r in rows]

    # queue

    def enqueue(self, signature: str, exporter: str, now: datetime) -> None:
        """Queue an export; an export already waiting for this finding and exporter covers it."""
        with self._tx() as db:
            open_entry = db.execute(
                "SELECT id, status, next_attempt_at FROM export_queue WHERE signature = ? AND exporter = ? "
                "AND status != 'sent'",
                (signature, exporter),
            ).fetchone()
            if open_entry is None:
                db.execute(
                    "INSERT INTO export_queue (signature, exporter, status, next_attempt_at, enqueued_at) "
                    "VALUES (?, ?, 'pending', ?, ?)",
                    (signature, exporter, store_time(now), store_time(now)),
                )
            elif open_entry["next_attempt_at"] is None:  # given up earlier: a new recurrence tries again
                db.execute(
                    "UPDATE export_queue SET attempts = 0, next_attempt_at = ? WHERE id = ?",
                    (store_time(now), open_entry["id"]),
                )

    def due(self, now: datetime, limit: int = 100) -> list[QueueEntry]:
        rows = self._query(
            "SELECT * FROM export_queue WHERE status IN ('pending', 'failed') "
            "AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?",
            (store_time(now), limit),
        )
        return [_entry(r) for r in rows]

    def queue(self, signature: str | None = None) -> list[QueueEntry]:
        rows = self._query(
            "SELECT * FROM export_queue WHERE ? IS NULL OR signature = ? ORDER BY id", (signature, signature)
        )
        return [_entry(r) for r in rows]

    def mark_sent(self, entry: QueueEntry, ref: ExportRef, now: datetime) -> None:
        """Record the ticket and close the queue entry in one transaction."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO exports (signature, exporter, external_id, url, first_sent, last_sent) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(signature, exporter) DO UPDATE SET "
                "external_id = excluded.external_id, url = excluded.url, last_sent = excluded.last_sent",
                (entry.signature, entry.exporter, ref.external_id, ref.url, store_time(now), store_time(now)),
            )
            db.execute(
                "UPDATE export_queue SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
                "next_attempt_at = NULL, last_error = '' WHERE id = ?",
                (store_time(now), entry.id),
            )

    def mark_failed(self, entry: QueueEntry, error: str, next_attempt_at: datetime | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE export_queue SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ? WHERE id = ?",
                (error[:2000], None if next_attempt_at is None else store_time(next_attempt_at), entry.id),
            )


def _log_unreadable(problem: str) -> None:
    log.warning("findings_store_unreadable", problem=problem)


def _entry(r: sqlite3.Row) -> QueueEntry:
    enqueued = parse_store_time(r["enqueued_at"])
    assert enqueued is not None  # NOT NULL column
    return QueueEntry(
        id=r["id"],
        signature=r["signature"],
        exporter=r["exporter"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=parse_store_time(r["next_attempt_at"]),
        last_error=r["last_error"],
        enqueued_at=enqueued,
    )
