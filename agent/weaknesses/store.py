"""Weaknesses in the findings store's SQLite file: the records, their tickets, and the ticket events to send.

Tables live beside the findings' (``weaknesses``, ``weakness_tickets``, ``weakness_events``) and are
created when missing, so an older store gains them on first use. A ticket event (opened, reproduced,
resolved, reopened) is queued per exporter and sent in order: a later event of one weakness waits for
the earlier ones, an event already waiting is not queued twice, and sending marks the event and
records the ticket in one transaction, so nothing is lost or sent twice across restarts.
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
from typing import Literal

import structlog

from agent.errors import ChaosAgentError
from agent.findings.sqlite import open_database, parse_store_time, store_time, transaction
from agent.findings.store import ExportRef
from agent.weaknesses.model import TicketEvent, WeaknessRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS weaknesses (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    severity REAL NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS weakness_tickets (
    weakness TEXT NOT NULL REFERENCES weaknesses(id),
    exporter TEXT NOT NULL,
    external_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    first_sent TEXT NOT NULL,
    last_sent TEXT NOT NULL,
    PRIMARY KEY (weakness, exporter)
);
CREATE TABLE IF NOT EXISTS weakness_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    weakness TEXT NOT NULL REFERENCES weaknesses(id),
    exporter TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('opened', 'reproduced', 'resolved', 'reopened')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    enqueued_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS weakness_events_open ON weakness_events(weakness, exporter, status);
"""
EventStatus = Literal["pending", "sent", "failed"]
log = structlog.get_logger(__name__)


class WeaknessStoreError(ChaosAgentError):
    """The weaknesses' tables cannot be opened, or a stored weakness cannot be read."""


@dataclass(frozen=True)
class EventEntry:
    id: int
    weakness: str
    exporter: str
    event: TicketEvent
    status: EventStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str


class WeaknessStore:
    """The weaknesses of one findings store (the same SQLite file); safe to share between threads."""

    def __init__(self, path: str | Path, *, on_unreadable: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_unreadable = on_unreadable or (lambda problem: log.warning("weakness_unreadable", problem=problem))
        try:
            self._db = open_database(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise WeaknessStoreError(
                f"cannot open the weaknesses in {self.path}: {e}; check findings.path in the config") from e
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> WeaknessStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock,
                           lambda e: WeaknessStoreError(f"the weaknesses in {self.path} cannot be written: {e}"))

    # records

    def put(self, record: WeaknessRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO weaknesses (id, body, status, severity, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body, status = excluded.status, "
                "severity = excluded.severity, first_seen = excluded.first_seen, last_seen = excluded.last_seen",
                (record.id, json.dumps(record.to_report_dict()), record.status, record.weakness.severity,
                 store_time(record.first_seen), store_time(record.last_seen)),
            )

    def _record(self, row: sqlite3.Row) -> WeaknessRecord:
        try:
            return WeaknessRecord.from_report_dict(json.loads(row["body"]))
        except (ValueError, KeyError, TypeError) as e:
            raise WeaknessStoreError(f"weakness {row['id']} in {self.path} cannot be read: {e}") from e

    def get(self, key: str) -> WeaknessRecord | None:
        """A weakness by id (``W-...``; a unique prefix is enough)."""
        with self._lock:
            rows = self._db.execute("SELECT id, body FROM weaknesses WHERE id = ? OR id LIKE ? LIMIT 2",
                                    (key, f"{key}%")).fetchall()
        exact = [r for r in rows if r["id"] == key]
        if exact:
            return self._record(exact[0])
        return self._record(rows[0]) if len(rows) == 1 and key.startswith("W-") else None

    def all(self, status: str | None = None) -> list[WeaknessRecord]:
        """Every readable weakness (or those of ``status``), open first, worst first; a row that cannot be read
        is one line to ``on_unreadable`` and the rest are still returned."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM weaknesses WHERE ? IS NULL OR status = ? "
                "ORDER BY status = 'resolved', severity DESC, id", (status, status)).fetchall()
        out = []
        for r in rows:
            try:
                out.append(self._record(r))
            except WeaknessStoreError as e:
                self.on_unreadable(f"{e}; skipped (the next game day that shows it writes it again)")
        return out

    # tickets

    def ticket(self, weakness: str, exporter: str) -> ExportRef | None:
        with self._lock:
            row = self._db.execute("SELECT external_id, url FROM weakness_tickets WHERE weakness = ? AND exporter = ?",
                                   (weakness, exporter)).fetchone()
        return None if row is None else ExportRef(exporter, row["external_id"], row["url"])

    def tickets(self, weakness: str) -> list[ExportRef]:
        with self._lock:
            rows = self._db.execute("SELECT exporter, external_id, url FROM weakness_tickets WHERE weakness = ? "
                                    "ORDER BY exporter", (weakness,)).fetchall()
        return [ExportRef(r["exporter"], r["external_id"], r["url"]) for r in rows]

    # ticket events

    def enqueue(self, weakness: str, exporter: str, event: TicketEvent, now: datetime) -> bool:
        """Queue an event; False when the same event already waits for this weakness and exporter."""
        with self._tx() as db:
            waiting = db.execute("SELECT 1 FROM weakness_events WHERE weakness = ? AND exporter = ? AND event = ? "
                                 "AND status != 'sent'", (weakness, exporter, event)).fetchone()
            if waiting is not None:
                db.execute("UPDATE weakness_events SET next_attempt_at = ? WHERE weakness = ? AND exporter = ? "
                           "AND event = ? AND status != 'sent' AND next_attempt_at IS NULL",
                           (store_time(now), weakness, exporter, event))
                return False
            db.execute("INSERT INTO weakness_events (weakness, exporter, event, status, next_attempt_at, enqueued_at) "
                       "VALUES (?, ?, ?, 'pending', ?, ?)",
                       (weakness, exporter, event, store_time(now), store_time(now)))
        return True

    def due(self, now: datetime, limit: int = 100) -> list[EventEntry]:
        """Events to send now, oldest first; an event waits while an earlier one of its weakness and exporter does."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.* FROM weakness_events e WHERE e.status != 'sent' AND e.next_attempt_at IS NOT NULL "
                "AND e.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM weakness_events p WHERE "
                "p.weakness = e.weakness AND p.exporter = e.exporter AND p.id < e.id AND p.status != 'sent') "
                "ORDER BY e.id LIMIT ?", (store_time(now), limit)).fetchall()
        return [_entry(r) for r in rows]

    def events(self, weakness: str | None = None) -> list[EventEntry]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM weakness_events WHERE ? IS NULL OR weakness = ? ORDER BY id",
                                    (weakness, weakness)).fetchall()
        return [_entry(r) for r in rows]

    def mark_sent(self, entry: EventEntry, ref: ExportRef, now: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO weakness_tickets (weakness, exporter, external_id, url, first_sent, last_sent) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(weakness, exporter) DO UPDATE SET "
                "external_id = excluded.external_id, url = excluded.url, last_sent = excluded.last_sent",
                (entry.weakness, entry.exporter, ref.external_id, ref.url, store_time(now), store_time(now)))
            db.execute("UPDATE weakness_events SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
                       "next_attempt_at = NULL, last_error = '' WHERE id = ?", (store_time(now), entry.id))

    def mark_failed(self, entry: EventEntry, error: str, next_attempt_at: datetime | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE weakness_events SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                       "next_attempt_at = ? WHERE id = ?",
                       (error[:2000], None if next_attempt_at is None else store_time(next_attempt_at), entry.id))


def _entry(r: sqlite3.Row) -> EventEntry:
    return EventEntry(id=r["id"], weakness=r["weakness"], exporter=r["exporter"], event=r["event"],
                      status=r["status"], attempts=r["attempts"],
                      next_attempt_at=parse_store_time(r["next_attempt_at"]), last_error=r["last_error"])
