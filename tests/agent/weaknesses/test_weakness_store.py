"""The weaknesses' tables: records round-trip, ticket events are sent in order, once, and survive a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.findings.store import ExportRef, FindingStore
from agent.weaknesses.model import Remedy, WeaknessRecord
from agent.weaknesses.store import WeaknessStore, WeaknessStoreError
from envs.weaknesses import Aspect, RootCause, Weakness

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def record(wid: str = "W-0123456789", severity: float = 0.8, status: str = "open") -> WeaknessRecord:
    w = Weakness(wid, RootCause.SINGLE_REPLICA_ON_PATH, "shop/Deployment/cart", "cart is a single replica",
                 "why", ("shop/Deployment/cart",), ("shop/Service/web availability >= 0.99",), severity, 1.0,
                 ("F-1", "F-2"), (Aspect(RootCause.SINGLE_REPLICA_ON_PATH, "shop/Deployment/cart", "", "d"),))
    return WeaknessRecord(w, status, T0, T0, Remedy("two replicas", "kind: Deployment\n", True, "ok"))  # type: ignore[arg-type]


def test_a_record_round_trips_and_shares_the_findings_file(tmp_path: Path) -> None:
    path = tmp_path / "findings.sqlite"
    with FindingStore(path):
        pass
    with WeaknessStore(path) as store:
        store.put(record())
        store.put(record("W-9999999999", 0.3, "resolved"))
    with WeaknessStore(path) as store, FindingStore(path) as findings:
        assert store.get("W-0123456789") == record() and store.get("W-01") == record()
        assert store.get("W-") is None, "an ambiguous prefix matches nothing"
        assert [r.id for r in store.all()] == ["W-0123456789", "W-9999999999"]
        assert [r.id for r in store.all("resolved")] == ["W-9999999999"]
        assert findings.all() == []


def test_events_are_sent_in_order_once_and_wait_behind_a_failed_one(tmp_path: Path) -> None:
    with WeaknessStore(tmp_path / "f.sqlite") as store:
        store.put(record())
        wid = record().id
        assert store.enqueue(wid, "jira", "opened", T0)
        assert store.enqueue(wid, "jira", "reproduced", T0)
        assert not store.enqueue(wid, "jira", "reproduced", T0), "one reproduced event waiting is enough"
        assert store.enqueue(wid, "github", "opened", T0)
        due = store.due(T0)
        assert [(e.exporter, e.event) for e in due] == [("jira", "opened"), ("github", "opened")]
        store.mark_failed(due[0], "down", T0 + timedelta(minutes=5))
        store.mark_sent(due[1], ExportRef("github", "7", "u"), T0)
        assert store.due(T0) == [], "jira's reproduced waits for its opened, which waits for its retry"
        [retry] = store.due(T0 + timedelta(minutes=5))
        assert (retry.event, retry.attempts) == ("opened", 1)
        store.mark_sent(retry, ExportRef("jira", "OPS-1", "u"), T0)
        [then] = store.due(T0)
        assert then.event == "reproduced"
        assert store.ticket(wid, "jira") == ExportRef("jira", "OPS-1", "u")
        assert [t.exporter for t in store.tickets(wid)] == ["github", "jira"]


def test_an_unreadable_weakness_is_one_clear_line_and_the_rest_still_read(tmp_path: Path) -> None:
    problems: list[str] = []
    with WeaknessStore(tmp_path / "f.sqlite", on_unreadable=problems.append) as store:
        store.put(record())
        store.put(record("W-9999999999"))
        store._db.execute("UPDATE weaknesses SET body = '{\"id\": 1}' WHERE id = 'W-0123456789'")
        with pytest.raises(WeaknessStoreError, match=r"W-0123456789 .* cannot be read"):
            store.get("W-0123456789")
        assert [r.id for r in store.all()] == ["W-9999999999"]
        [line] = problems
        assert "W-0123456789" in line and "skipped" in line


def test_a_store_that_cannot_be_written_says_so_in_one_line_and_keeps_what_it_had(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    with WeaknessStore(path) as store:
        store.put(record())
        store._db.execute("PRAGMA query_only = ON")  # what a read-only mount or a full disk does to a write
        with pytest.raises(WeaknessStoreError, match=r"the weaknesses in .*f\.sqlite cannot be written"):
            store.put(record("W-9999999999"))
        store._db.execute("PRAGMA query_only = OFF")
        assert [r.id for r in store.all()] == ["W-0123456789"], "the failed write was rolled back whole"
