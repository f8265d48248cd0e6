"""The cluster's memory on disk: one SQLite file beside the findings store, one JSON row per cluster.

It holds what every game day tried on the cluster, what each try showed, the streaks without new
evidence and the weaknesses already known (``envs.memory.ClusterMemory``), so the next game day, after
a restart too, continues where the last one stopped. JSON only, never a pickle: a file someone else
wrote cannot run code here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from agent.errors import ChaosAgentError
from envs.memory import ClusterMemory, MemoryFormatError
from envs.spec import ClusterSpec

MEMORY_FILE = "memory.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = "CREATE TABLE memories (cluster TEXT PRIMARY KEY, body TEXT NOT NULL, updated TEXT NOT NULL)"


class MemoryStoreError(ChaosAgentError):
    """The memory store cannot be opened, is from a newer agent, or holds a row this agent cannot read."""


def memory_path(findings_path: Path) -> Path:
    """Where the memory lives: beside the findings store, in the same folder."""
    return findings_path.with_name(MEMORY_FILE)


def fingerprints(spec: ClusterSpec) -> dict[str, str]:
    """A digest per target of what it is made of: a changed manifest is a new target to the memory."""
    out = {w.key: _digest(repr(w)) for w in spec.workloads}
    out.update({n.key: _digest(repr(n)) for n in spec.nodes})
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class MemoryStore:
    """One SQLite file; loads and saves whole memories (a few hundred KB at most), thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise MemoryStoreError(
                    f"the memory store {self.path} has schema version {version}, newer than this agent's "
                    f"{SCHEMA_VERSION}; upgrade chaos-agent or move the file away")
            if version == 0:
                self._db.execute(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as e:
            raise MemoryStoreError(f"cannot open the memory store {self.path}: {e}; it lives beside "
                                   "findings.path, check that setting") from e
        self._lock = threading.Lock()

    def load(self, cluster: str, spec: ClusterSpec | None = None) -> ClusterMemory:
        """The cluster's memory (empty the first time); with ``spec``, tries on changed targets are dropped."""
        with self._lock:
            row = self._db.execute("SELECT body FROM memories WHERE cluster = ?", (cluster,)).fetchone()
        memory = ClusterMemory(cluster)
        if row is not None:
            try:
                memory = ClusterMemory.from_json(json.loads(row[0]))
            except (json.JSONDecodeError, MemoryFormatError) as e:
                raise MemoryStoreError(f"the memory of cluster {cluster!r} in {self.path} cannot be read: {e}; "
                                       "move the file away to start the cluster's memory afresh") from e
        if spec is not None:
            memory.refresh(fingerprints(spec))
        return memory

    def save(self, memory: ClusterMemory) -> None:
        body = json.dumps(memory.to_json(), separators=(",", ":"))
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._lock:
            self._db.execute("INSERT INTO memories (cluster, body, updated) VALUES (?, ?, ?) "
                             "ON CONFLICT(cluster) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                             (memory.cluster, body, now))

    def clusters(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT cluster FROM memories ORDER BY cluster")]

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
