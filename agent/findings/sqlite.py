"""What the findings store and the weaknesses store (one SQLite file) share: how the file is opened, how a
time is stored, and a write transaction that either commits whole or says in one line why it could not."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def open_database(path: Path) -> sqlite3.Connection:
    """The store's file (its folder made first), shared by the daemon's threads, in autocommit mode (writes
    go through ``transaction``), rows by column name; waits up to 30 s for another writer. Raises
    ``OSError`` or ``sqlite3.Error`` for the caller to name in its own words."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def store_time(t: datetime) -> str:
    """UTC, fixed width, so text comparison in SQL is time order."""
    if t.tzinfo is None:
        raise ValueError("store timestamps must be timezone-aware")
    return t.astimezone(UTC).strftime(_FORMAT)


def parse_store_time(s: str | None) -> datetime | None:
    return None if s is None else datetime.strptime(s, _FORMAT).replace(tzinfo=UTC)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, lock: threading.RLock,
                cannot_write: Callable[[sqlite3.DatabaseError], Exception]) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under ``lock``, rolled back on any error; a database that cannot be
    written (full disk, damaged file, locked too long) raises ``cannot_write(error)`` instead."""
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise cannot_write(e) from e
