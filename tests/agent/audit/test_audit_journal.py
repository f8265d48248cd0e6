"""The journal: header, hash chain, write-ahead ordering, torn-line repair, the writer lock, open intents."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agent
from agent.audit import AuditJournal, open_intents, verify
from agent.errors import AuditError
from envs.cluster import Injection
from envs.faults import Fault, FaultKind

CONFIG, POLICY = "c" * 64, "p" * 64


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def open_journal(path: Path) -> AuditJournal:
    return AuditJournal.open(path, config_hash=CONFIG, policy_hash=POLICY)


def kill(target: str = "shop/Deployment/web") -> Fault:
    return Fault(FaultKind.POD_KILL, 1, target)


def test_header_then_a_chain_of_exact_line_hashes(tmp_path: Path) -> None:
    path = tmp_path / "var" / "audit.jsonl"
    with open_journal(path) as journal:
        journal.record_intent("i1", kill())
        journal.record_outcome(Injection("i1", kill(), "applied", "2 pods deleted", ("web-1", "web-2")))
        journal.record_revert("i1", kill())
    raw = path.read_bytes().split(b"\n")
    assert raw[-1] == b""
    records = [json.loads(line) for line in raw[:-1]]
    header = records[0]
    assert header["kind"] == "header" and header["seq"] == 0 and header["prev"] == "0" * 64
    assert (header["agent_version"], header["config_hash"], header["policy_hash"]) == (agent.__version__,
                                                                                       CONFIG, POLICY)
    for n in range(1, len(records)):
        assert records[n]["seq"] == n
        assert records[n]["prev"] == hashlib.sha256(raw[n - 1]).hexdigest()
    intent, outcome, revert = records[1:]
    assert intent["kind"] == "intent" and intent["status"] == "pending"
    assert intent["fault"] == {"kind": "pod_kill", "intensity": 1, "target": "shop/Deployment/web",
                               "duration_s": 120.0}
    assert outcome["status"] == "applied" and outcome["pods"] == ["web-1", "web-2"]
    assert revert["status"] == "reverted"
    assert all(r["ts"].endswith("Z") for r in records)


def test_intent_is_on_disk_and_fsynced_before_the_fault_is_applied(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    events: list[str] = []
    real_fsync = os.fsync

    def spy_fsync(fd: int) -> None:
        real_fsync(fd)
        events.append("fsync")

    monkeypatch.setattr(os, "fsync", spy_fsync)

    def apply(fault: Fault, injection_id: str) -> Injection:
        # A second reader, as a crash right now would leave the file: the intent must be there.
        on_disk = [r for r in lines_of(path) if r.get("injection_id") == injection_id]
        assert [r["kind"] for r in on_disk] == ["intent"]
        assert events[-1] == "fsync"
        events.append("apply")
        return Injection(injection_id, fault, "applied")

    with open_journal(path) as journal:
        journal.record_intent("i7", kill())
        injection = apply(kill(), "i7")
        journal.record_outcome(injection)
    assert events[-2:] == ["apply", "fsync"]
    assert [r["kind"] for r in lines_of(path)] == ["header", "intent", "outcome"]


def test_every_record_kind_verifies_and_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_journal(path) as journal:
        journal.record_intent("i1", kill())
        try:
            raise RuntimeError("apiserver said 500")
        except RuntimeError as e:
            journal.record_outcome(Injection("i1", kill(), "failed", "server error"), error=e)
        journal.record_finding("f1", injection_id="i1", target="shop/Deployment/web", status="new",
                               detail="availability 0.91 < 0.99")
        journal.record_halt("operator")
        journal.record_resume("operator")
        journal.record_note("hello")
        head = journal.head
    report = verify(path)
    assert report.ok and report.records == 7 and report.head == head
    with AuditJournal.open(path, config_hash="d" * 64, policy_hash=POLICY) as journal:
        journal.record_note("second session")
    records = lines_of(path)
    assert records[7]["kind"] == "note" and records[7]["config_hash"] == "d" * 64
    assert records[7]["seq"] == 7 and verify(path).ok
    failed = records[2]
    assert failed["status"] == "failed" and "RuntimeError: apiserver said 500" in failed["exception"]
    assert [r["kind"] for r in records[3:6]] == ["finding", "halt", "resume"]


def test_a_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_journal(path):
        with pytest.raises(AuditError, match="locked by another process"):
            open_journal(path)
        code = ("import sys; from pathlib import Path; from agent.audit import AuditJournal\n"
                "from agent.errors import AuditError\n"
                "try:\n    AuditJournal.open(Path(sys.argv[1]), config_hash='c', policy_hash='p')\n"
                "except AuditError as e:\n    print(e); sys.exit(3)\n")
        other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                               cwd=Path(__file__).parents[3], timeout=60)
        assert other.returncode == 3, other.stderr
        assert "locked" in other.stdout
    with open_journal(path) as journal:  # released on close
        journal.record_note("again")


def test_open_intents_are_those_without_a_completed_revert(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    a, b, c, d, e, f = (kill(f"shop/Deployment/w{n}") for n in range(6))
    with open_journal(path) as j:
        j.record_intent("reverted", a)
        j.record_outcome(Injection("reverted", a, "applied"))
        j.record_revert("reverted", a)
        j.record_intent("applied", b)
        j.record_outcome(Injection("applied", b, "applied", affected_pods=("w1-0",)))
        j.record_intent("crashed-before-outcome", c)
        j.record_intent("refused", d)
        j.record_outcome(Injection("refused", d, "refused", "PDB"))
        j.record_intent("revert-failed", e)
        j.record_outcome(Injection("revert-failed", e, "applied"))
        j.record_revert("revert-failed", e, error=TimeoutError("apiserver timeout"))
        j.record_intent("planned", f, dry_run=True)
        j.record_outcome(Injection("planned", f, "dry_run"))
    found = open_intents(path)
    assert [(o.injection_id, o.outcome) for o in found] == [
        ("applied", "applied"), ("crashed-before-outcome", None), ("revert-failed", "applied")]
    injection = found[0].as_injection()
    assert injection.fault == b and injection.affected_pods == ("w1-0",) and injection.outcome == "applied"
    assert open_intents(tmp_path / "missing.jsonl") == []


def test_a_torn_last_line_is_repaired_on_open_not_called_tampering(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_journal(path) as journal:
        journal.record_intent("i1", kill())
        journal.record_outcome(Injection("i1", kill(), "applied"))
    intact = path.read_bytes()
    torn = b'{"seq":3,"prev":"ab12","kind":"intent","ts":"2026-'
    path.write_bytes(intact + torn)  # the crash: half a record, never acknowledged

    report = verify(path)
    assert report.ok and report.torn_tail_bytes == len(torn) and "torn" in report.describe()
    assert [o.injection_id for o in open_intents(path)] == ["i1"]

    with open_journal(path) as journal:
        assert journal.repaired_bytes == len(torn)
        journal.record_revert("i1", kill())
    data = path.read_bytes()
    assert data.startswith(intact) and data.endswith(b"\n") and torn not in data.split(b"\n")
    records = lines_of(path)
    repaired = [r for r in records if r.get("status") == "repaired"]
    assert len(repaired) == 1 and str(len(torn)) in repaired[0]["detail"]
    assert verify(path).ok and verify(path).torn_tail_bytes == 0
    assert open_intents(path) == []


def test_a_torn_header_starts_the_journal_over(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"seq":0,"prev":"000')
    assert not verify(path).ok
    with open_journal(path) as journal:
        journal.record_note("fresh")
    records = lines_of(path)
    assert records[0]["kind"] == "header" and records[1]["status"] == "repaired"
    assert verify(path).ok


def test_a_journal_whose_last_record_is_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with open_journal(path) as journal:
        journal.record_note("one")
    path.write_bytes(path.read_bytes() + b"not json\n")
    with pytest.raises(AuditError, match="audit verify"):
        open_journal(path)


def test_records_after_close_are_refused(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "audit.jsonl")
    journal.close()
    with pytest.raises(AuditError, match="closed"):
        journal.record_note("late")
