"""verify(): an intact journal passes; each kind of tampering is named at the line where it happened."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from agent.audit import AuditJournal, verify
from agent.audit.records import seal
from envs.cluster import Injection
from envs.faults import Fault, FaultKind

N_FAULTS = 4
Lines = tuple[Path, list[bytes]]


@pytest.fixture
def journal_lines(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """A journal of 1 header + 3 records per fault + 1 note: 14 lines."""
    path = tmp_path / "audit.jsonl"
    with AuditJournal.open(path, config_hash="c" * 64, policy_hash="p" * 64) as journal:
        for n in range(N_FAULTS):
            fault = Fault(FaultKind.NETWORK_LATENCY, n % 3, f"shop/Deployment/w{n}")
            journal.record_intent(f"i{n}", fault)
            journal.record_outcome(Injection(f"i{n}", fault, "applied"))
            journal.record_revert(f"i{n}", fault)
        journal.record_note("end of game day")
    return path, path.read_bytes().split(b"\n")[:-1]


def write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_an_intact_journal_verifies(journal_lines: Lines) -> None:
    path, lines = journal_lines
    report = verify(path)
    assert report.ok and report.records == len(lines) == 14
    assert report.head == hashlib.sha256(lines[-1]).hexdigest()
    assert verify(path, expected_head=report.head).ok


@pytest.mark.parametrize("line", [2, 5, 9, 13])
def test_a_changed_record_is_caught_at_its_line(journal_lines: Lines, line: int) -> None:
    path, lines = journal_lines
    lines[line - 1] = lines[line - 1].replace(b'"ts":"2', b'"ts":"1')
    write(path, lines)
    report = verify(path)
    assert not report.ok and report.problem is not None
    assert (report.problem.line, report.problem.kind) == (line, "changed")
    assert f"line {line}" in report.describe()


def test_a_changed_header_is_caught(journal_lines: Lines) -> None:
    path, lines = journal_lines
    lines[0] = lines[0].replace(b'"config_hash":"ccc', b'"config_hash":"ddd')
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (1, "changed")


def test_a_forged_header_is_caught(journal_lines: Lines) -> None:
    path, lines = journal_lines
    header = json.loads(lines[0])
    header["kind"] = "note"
    del header["digest"]
    lines[0] = seal(json.dumps(header, separators=(",", ":")).encode())
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and problem.line == 1 and problem.kind == "header"


@pytest.mark.parametrize("line", [1, 2, 7, 13])
def test_a_removed_record_is_caught_where_it_was(journal_lines: Lines, line: int) -> None:
    path, lines = journal_lines
    del lines[line - 1]
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (line, "removed")


@pytest.mark.parametrize("line", [2, 6, 12])
def test_reordered_records_are_caught(journal_lines: Lines, line: int) -> None:
    path, lines = journal_lines
    lines[line - 1], lines[line] = lines[line], lines[line - 1]
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (line, "reordered")


def test_a_copied_record_inserted_later_is_caught(journal_lines: Lines) -> None:
    path, lines = journal_lines
    lines.insert(8, lines[2])  # replay of an old outcome as line 9
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (9, "inserted")


@pytest.mark.parametrize("line", [3, 8, 14])
def test_a_forged_record_with_a_valid_link_is_caught(journal_lines: Lines, line: int) -> None:
    """The forger computes seq and prev right for the record before; the next record no longer links."""
    path, lines = journal_lines
    forged = {"seq": line - 1, "prev": hashlib.sha256(lines[line - 2]).hexdigest(), "kind": "note",
              "ts": "2026-01-01T00:00:00.000000Z", "detail": "nothing to see"}
    lines.insert(line - 1, seal(json.dumps(forged, separators=(",", ":")).encode()))
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (line, "inserted")


def test_a_record_with_a_wrong_link_inserted_is_caught(journal_lines: Lines) -> None:
    path, lines = journal_lines
    forged = {"seq": 4, "prev": "f" * 64, "kind": "note", "ts": "2026-01-01T00:00:00Z", "detail": "x"}
    lines.insert(4, seal(json.dumps(forged).encode()))
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (5, "inserted")


@pytest.mark.parametrize("line", [2, 6, 12])
def test_bytes_cut_out_of_the_middle_are_caught(journal_lines: Lines, line: int) -> None:
    path, lines = journal_lines
    data = b"".join(x + b"\n" for x in lines)
    start = sum(len(x) + 1 for x in lines[:line - 1]) + len(lines[line - 1]) // 2
    end = start + (len(lines[line - 1]) - len(lines[line - 1]) // 2) + 1 + len(lines[line]) // 2
    path.write_bytes(data[:start] + data[end:])
    problem = verify(path).problem
    # The spliced line may even parse as JSON; its digest still gives it away.
    assert problem is not None and problem.line == line and problem.kind in ("malformed", "changed")


def test_a_cut_off_tail_is_caught_only_against_an_anchored_head(journal_lines: Lines) -> None:
    path, lines = journal_lines
    head = verify(path).head
    assert head is not None
    write(path, lines[:-2])
    assert verify(path).ok  # a shorter chain is still a chain
    problem = verify(path, expected_head=head).problem
    assert problem is not None and problem.kind == "mismatch"


def test_an_empty_journal_fails(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    problem = verify(path).problem
    assert problem is not None and problem.kind == "header"


def test_a_changed_last_record_is_caught_by_its_digest(journal_lines: Lines) -> None:
    path, lines = journal_lines
    lines[-1] = lines[-1].replace(b"end of game day", b"end of game dax")
    write(path, lines)
    problem = verify(path).problem
    assert problem is not None and (problem.line, problem.kind) == (len(lines), "changed")
