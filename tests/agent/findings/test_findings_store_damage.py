"""A damaged findings store (a row of bad JSON, a corrupted page of a real SQLite file) is one line, not a
traceback: ``findings list``, ``report`` and ``run`` go on with what can be read, and the run reverts its faults."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.audit import open_intents
from agent.cli import main
from agent.findings import Finding, FindingStore, findings_from_result
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "manifests"
TABLE_LEAF = 0x0D
"""The first byte of a SQLite b-tree page that is a table's leaf."""


def _findings(n: int) -> list[Finding]:
    out = []
    for i in range(n):
        target = f"shop/Deployment/w{i:03d}"
        out += findings_from_result(result(target=target, subjects=(target,)), injection_index=i + 1, seen_at=T0)
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[cluster.simulated]
manifests = "{EXAMPLES / 'storefront'}"
seed = 5
[policy]
strategy = "anomaly_weighted"
[safety]
error_budget = 1000
[audit]
path = "audit.jsonl"
[findings]
path = "findings.sqlite"
""")
    return path


def _store(config: Path, findings: list[Finding]) -> Path:
    path = config.parent / "findings.sqlite"
    with FindingStore(path) as store:
        for f in findings:
            store.upsert(f)
    return path  # closed: the WAL is checkpointed into the file


def _listed(out: str) -> set[str]:
    return {line.split()[0] for line in out.splitlines() if line.startswith("F-")}


def test_a_row_of_bad_json_is_named_and_the_rest_is_listed(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = _findings(5)
    path = _store(config, findings)
    bad = findings[2]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE findings SET body = '{\"id\": \"F-broken' WHERE signature = ?", (bad.signature,))
    db.close()
    assert main(["findings", "list", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert _listed(out) == {f.id for f in findings} - {bad.id}
    [warning] = err.splitlines()
    assert warning.startswith("chaos-agent: warning:") and bad.signature[:12] in warning and "skipped" in warning
    assert main(["findings", "show", bad.id, "--config", str(config)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["report", "--config", str(config), "--out", str(config.parent / "report")]) == 0
    assert "Traceback" not in capsys.readouterr().err


def _corrupt_page_of(path: Path, finding: Finding) -> int:
    """Break the table leaf page holding ``finding``'s row (its type byte); returns its number."""
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = 0
    while (at := data.find(finding.id.encode(), start)) >= 0:
        page = at // page_size
        header = page * page_size + (100 if page == 0 else 0)
        if data[header] == TABLE_LEAF and b'"evidence"' in data[page * page_size:(page + 1) * page_size]:
            data[header] = 0x00
            path.write_bytes(bytes(data))
            return page + 1
        start = at + 1
    raise AssertionError(f"no table leaf page holds {finding.id}")


def test_a_corrupted_page_is_one_line_and_list_report_and_run_go_on(config: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    findings = _findings(40)
    path = _store(config, findings)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT count(*) FROM findings").fetchone()[0]
    db.close()
    assert rows == 40
    _corrupt_page_of(path, findings[-1])  # the last leaf: a new finding of the run is inserted there
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        sqlite3.connect(path).execute("SELECT body FROM findings").fetchall()

    assert main(["findings", "list", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    listed = _listed(out)
    assert findings[-1].id not in listed and 20 <= len(listed) < 40, "the rest is still readable"
    assert listed <= {f.id for f in findings}
    assert "Traceback" not in err and "findings table cannot be read whole" in err and "are lost" in err
    assert all(line.startswith("chaos-agent: warning:") for line in err.splitlines())

    assert main(["report", "--config", str(config), "--out", str(config.parent / "report")]) == 0
    assert "Traceback" not in capsys.readouterr().err

    assert main(["run", "--config", str(config), "--max-injections", "15", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "every fault reverted" in out and "Traceback" not in err
    assert "cannot be written" in err and "this run's findings are not stored" in err
    assert open_intents(config.parent / "audit.jsonl") == []
