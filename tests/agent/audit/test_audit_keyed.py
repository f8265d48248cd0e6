"""A keyed journal cannot be re-sealed without the key, and a published head catches a whole rewrite.

The attacker here can write the journal file but holds no key: they edit or delete records and
recompute every seal, seq and link they can (plain SHA-256, or an HMAC under a key of their own).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import structlog

from agent.audit import AuditJournal, HeadAnchor, Sealer, load_sealer, verify
from agent.audit.records import seal
from agent.cli import main
from agent.errors import AuditError, ConfigError
from envs.cluster import Injection
from envs.faults import Fault, FaultKind

KEY = b"k" * 16 + b"e" * 16 + b"y" * 8
OTHER_KEY = b"o" * 40


def write_journal(path: Path, sealer: Sealer, faults: int = 3) -> list[bytes]:
    """A header, intent/outcome/revert per fault and a closing note."""
    with AuditJournal.open(path, config_hash="c" * 64, policy_hash="p" * 64, sealer=sealer) as journal:
        for n in range(faults):
            fault = Fault(FaultKind.POD_KILL, 1, f"shop/Deployment/w{n}")
            journal.record_intent(f"i{n}", fault)
            journal.record_outcome(Injection(f"i{n}", fault, "applied"))
            journal.record_revert(f"i{n}", fault)
        journal.record_note("end of game day")
    return path.read_bytes().split(b"\n")[:-1]


def reseal(lines: list[bytes], sealer: Sealer, *, header: dict[str, Any] | None = None,
           keep_header: bool = False) -> bytes:
    """What an attacker writes after editing: seq renumbered, every prev and seal recomputed."""
    out: list[bytes] = []
    for n, line in enumerate(lines):
        if n == 0 and keep_header:
            out.append(line)
            continue
        record = json.loads(line)
        record.pop("digest", None)
        record.pop("mac", None)
        if n == 0 and header is not None:
            record.update(header)
            record = {k: v for k, v in record.items() if v is not None}
        record["seq"] = n
        record["prev"] = hashlib.sha256(out[-1]).hexdigest() if out else "0" * 64
        out.append(seal(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode(), sealer))
    return b"".join(x + b"\n" for x in out)


def test_a_keyed_journal_verifies_only_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_journal(path, Sealer(KEY))
    assert all(b'"mac":"' in line and b'"digest"' not in line for line in lines)
    assert json.loads(lines[0])["key_id"] == Sealer(KEY).key_id
    report = verify(path, sealer=Sealer(KEY))
    assert report.ok and report.key_id == Sealer(KEY).key_id and "WARNING" not in report.describe()
    without = verify(path)
    assert without.problem is not None and without.problem.kind == "key" and "--key-file" in without.describe()
    wrong = verify(path, sealer=Sealer(OTHER_KEY))
    assert wrong.problem is not None and (wrong.problem.line, wrong.problem.kind) == (1, "changed")
    assert Sealer(OTHER_KEY).key_id in wrong.problem.message and KEY.decode() not in wrong.describe()


@pytest.mark.parametrize("attacker", ["plain SHA-256", "their own key"])
@pytest.mark.parametrize("keep_header", [True, False], ids=["header kept", "header rewritten"])
def test_an_edited_record_resealed_without_the_key_is_changed(tmp_path: Path, attacker: str,
                                                              keep_header: bool) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_journal(path, Sealer(KEY))
    lines[5] = lines[5].replace(b'"status":"applied"', b'"status":"refused"')  # the second outcome
    forger = Sealer() if attacker == "plain SHA-256" else Sealer(OTHER_KEY)
    forged_header = {"format": forger.format, "key_id": forger.key_id}
    path.write_bytes(reseal(lines, forger, keep_header=keep_header, header=forged_header))
    assert verify(path, sealer=forger if forger.key_id else None).ok is (not keep_header)  # consistent to them
    report = verify(path, sealer=Sealer(KEY))
    assert report.problem is not None and report.problem.kind == "changed", report.describe()
    assert report.problem.line == (2 if keep_header else 1)
    assert "re-sealed by someone without the key" in report.describe()


def test_an_unkeyed_rewrite_passes_alone_but_not_against_a_published_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_journal(path, Sealer())
    published = hashlib.sha256(lines[-1]).hexdigest()
    intact = verify(path, expected_head=published)
    assert intact.ok and intact.anchored_at == len(lines) and "WARNING unkeyed" in intact.describe()

    del lines[4:7]  # injection i1: its intent, outcome and revert
    path.write_bytes(reseal(lines, Sealer()))
    rewritten = verify(path)
    assert rewritten.ok, "a re-hashed unkeyed journal passes by itself: that is why heads are published"
    assert "WARNING unkeyed" in rewritten.describe()
    against = verify(path, expected_head=published)
    assert against.problem is not None and against.problem.kind == "mismatch"
    assert published in against.problem.message


def test_records_after_a_published_head_are_newer_not_tampering(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write_journal(path, Sealer(KEY))
    published = hashlib.sha256(lines[4]).hexdigest()
    report = verify(path, expected_head=published, sealer=Sealer(KEY))
    assert report.ok and report.anchored_at == 5
    assert f"{len(lines) - 5} newer record(s)" in report.describe()


def test_the_writer_keeps_the_key_a_journal_started_with(tmp_path: Path) -> None:
    keyed, plain = tmp_path / "keyed.jsonl", tmp_path / "plain.jsonl"
    write_journal(keyed, Sealer(KEY), faults=1)
    write_journal(plain, Sealer(), faults=1)
    for path, sealer, words in ((keyed, Sealer(), "key_file is not set"),
                                (keyed, Sealer(OTHER_KEY), "point key_file to the journal's key"),
                                (plain, Sealer(KEY), "start a new one")):
        with pytest.raises(AuditError, match=words):
            AuditJournal.open(path, config_hash="c", policy_hash="p", sealer=sealer)
    with AuditJournal.open(keyed, config_hash="c", policy_hash="p", sealer=Sealer(KEY)) as journal:
        journal.record_note("second session")
    assert verify(keyed, sealer=Sealer(KEY)).ok


def test_the_key_comes_from_a_file_of_at_least_32_bytes(tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    assert load_sealer(key_file) == Sealer(KEY) and load_sealer(None).key_id is None
    assert KEY.decode() not in repr(load_sealer(key_file))
    key_file.write_bytes(b"short\n")
    with pytest.raises(ConfigError, match=r"holds 5 bytes; an audit key needs at least 32"):
        load_sealer(key_file)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_sealer(tmp_path / "missing.key")


def test_the_anchor_publishes_the_head_when_it_moves_at_most_every_interval(tmp_path: Path) -> None:
    now = [0.0]
    marks: list[Any] = []
    with AuditJournal.open(tmp_path / "audit.jsonl", config_hash="c", policy_hash="p",
                           sealer=Sealer(KEY)) as journal:
        anchor = HeadAnchor(journal, every_s=60, clock=lambda: now[0])
        anchor.sinks.append(marks.append)
        with structlog.testing.capture_logs() as logs:
            first = anchor.tick()
            assert first is not None and (first.seq, first.head) == journal.position()
            journal.record_note("a")
            now[0] = 30
            assert anchor.tick() is None  # moved, but within the interval
            now[0] = 61
            assert anchor.tick() is not None
            now[0] = 200
            assert anchor.tick() is None  # the interval passed, but the head did not move
            final = anchor.publish()
        assert [m.head for m in marks] == [first.head, marks[1].head, final.head] and final.head == journal.head
        published = [e for e in logs if e["event"] == "audit_head"]
        assert [e["head"] for e in published] == [m.head for m in marks]
        assert published[-1]["key_id"] == Sealer(KEY).key_id and "--expected-head" in published[-1]["verify"]
    assert verify(journal.path, expected_head=final.head, sealer=Sealer(KEY)).ok


def test_cli_verify_takes_the_key_file_and_the_expected_head(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path, key_file = tmp_path / "audit.jsonl", tmp_path / "audit.key"
    key_file.write_bytes(KEY)
    lines = write_journal(path, Sealer(KEY))
    head = hashlib.sha256(lines[-1]).hexdigest()
    assert main(["audit", "verify", str(path), "--key-file", str(key_file), "--expected-head", head]) == 0
    assert f"key id {Sealer(KEY).key_id}" in capsys.readouterr().out
    config = tmp_path / "config.toml"
    config.write_text(f"[audit]\npath = 'audit.jsonl'\nkey_file = '{key_file}'\n")
    assert main(["audit", "verify", str(path), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(path)]) == 1
    assert "(key)" in capsys.readouterr().out
    assert main(["audit", "verify", str(path), "--key-file", str(key_file), "--expected-head", "f" * 64]) == 1
    assert "(mismatch)" in capsys.readouterr().out
    assert main(["audit", "verify", str(path), "--expected-head", "nothex"]) == 2
    assert "--expected-head" in capsys.readouterr().err
