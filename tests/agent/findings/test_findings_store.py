"""The SQLite findings store: upsert by signature, restarts, queue states, schema versioning."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.config.parse import ParseContext, parse_section
from agent.config.records import FindingsSettings
from agent.errors import ConfigError
from agent.findings import (
    ExperimentRecord,
    ExportRef,
    FindingStore,
    FindingStoreError,
    UnknownFindingError,
    finding_show_text,
    findings_from_result,
    findings_list_text,
)
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_repeat_merges_into_one_row_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    with FindingStore(path) as store:
        first = findings_from_result(result(worst=0.7), injection_index=0, seen_at=T0)[0]
        stored, new = store.upsert(first)
        assert new and stored.reproductions == 1
        again = findings_from_result(
            result(worst=0.1, intensity=1), injection_index=4, seen_at=T0 + timedelta(minutes=5)
        )[0]
        stored, new = store.upsert(again)
        assert not new and stored.reproductions == 2 and stored.evidence.breach.worst == 0.1
    with FindingStore(path) as reopened:
        [only] = reopened.all()
        assert only.reproductions == 2 and only.last_seen == T0 + timedelta(minutes=5)
        assert only.injection_index == 0 and only.last_injection_index == 4
        assert reopened.get(only.id) == only and reopened.get(only.id[:6]) == only
        assert reopened.get(only.signature) == only and reopened.get("F-nothing") is None
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_queue_coalesces_and_records_refs(tmp_path: Path) -> None:
    with FindingStore(tmp_path / "f.sqlite") as store:
        f, _ = store.upsert(findings_from_result(result(), injection_index=0, seen_at=T0)[0])
        store.enqueue(f.signature, "redmine", T0)
        store.enqueue(f.signature, "redmine", T0)  # still pending: one entry covers both
        [entry] = store.due(T0)
        assert store.due(T0 - timedelta(seconds=1)) == []
        store.mark_failed(entry, "boom", T0 + timedelta(minutes=1))
        assert store.due(T0) == [] and store.due(T0 + timedelta(minutes=1))[0].attempts == 1
        [entry] = store.due(T0 + timedelta(minutes=1))
        store.mark_sent(entry, ExportRef("redmine", "42", "http://x/issues/42"), T0 + timedelta(minutes=1))
        assert store.export_ref(f.signature, "redmine") == ExportRef("redmine", "42", "http://x/issues/42")
        assert [q.status for q in store.queue(f.signature)] == ["sent"]
        store.enqueue(f.signature, "redmine", T0 + timedelta(minutes=2))  # a recurrence: a new entry
        assert [q.status for q in store.queue(f.signature)] == ["sent", "pending"]


def test_given_up_entry_is_revived_by_a_recurrence(tmp_path: Path) -> None:
    with FindingStore(tmp_path / "f.sqlite") as store:
        f, _ = store.upsert(findings_from_result(result(), injection_index=0, seen_at=T0)[0])
        store.enqueue(f.signature, "jira", T0)
        store.mark_failed(store.due(T0)[0], "401", None)
        assert store.due(T0 + timedelta(days=1)) == []
        store.enqueue(f.signature, "jira", T0 + timedelta(days=1))
        [revived] = store.due(T0 + timedelta(days=1))
        assert revived.attempts == 0 and revived.last_error == "401"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    FindingStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(FindingStoreError, match="schema version 99"):
        FindingStore(path)


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(FindingStoreError, match="not a usable findings store"):
        FindingStore(path)


def test_findings_settings_resolve_paths_and_bounds(tmp_path: Path) -> None:
    s = parse_section(FindingsSettings, {"report_dir": "out"}, "findings", ParseContext(tmp_path))
    assert s.report_dir == tmp_path / "out" and s.path == tmp_path / "var/findings.sqlite"
    with pytest.raises(ConfigError, match=r"findings\.drain_every_s must be from 1 to 86400, got 0"):
        parse_section(FindingsSettings, {"drain_every_s": 0}, "findings", ParseContext(tmp_path))


def test_cli_texts_read_the_store(tmp_path: Path) -> None:
    with FindingStore(tmp_path / "f.sqlite") as store:
        assert findings_list_text(store) == "no findings yet\n"
        f, _ = store.upsert(findings_from_result(result(), injection_index=0, seen_at=T0)[0])
        store.enqueue(f.signature, "jira", T0)
        store.mark_failed(store.due(T0)[0], "jira: POST /rest/api/3/issue answered 503: busy", T0)
        assert f.id in findings_list_text(store)
        page = finding_show_text(store, f.id[:5])
        assert f.hypothesis in page and "jira" in page and "failed after 1 attempt(s)" in page
        with pytest.raises(UnknownFindingError, match="findings list"):
            finding_show_text(store, "F-0000000000")


def test_a_schema_1_store_gains_the_experiments_table(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    with FindingStore(path) as store:
        store.upsert(findings_from_result(result(), injection_index=1, seen_at=T0)[0])
    with sqlite3.connect(path) as db:  # the store as agents before experiments were kept left it
        db.execute("DROP TABLE experiments")
        db.execute("PRAGMA user_version=1")
    db.close()
    with FindingStore(path) as store:
        assert len(store.all()) == 1 and store.experiments() == [] and store.latest_run() is None
        record = ExperimentRecord.of(result(), injection=1)
        store.record_experiment("run-1", record, T0)
        assert store.experiments("run-1") == [record] and store.latest_run() == "run-1"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
