"""Any single tampering with a journal is caught at the line where it happened (property test)."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.audit import AuditJournal, verify
from envs.cluster import Injection
from envs.faults import FAULT_KINDS, Fault


@cache
def base_lines(folder: str) -> tuple[bytes, ...]:
    path = Path(folder) / "base.jsonl"
    with AuditJournal.open(path, config_hash="c" * 64, policy_hash="p" * 64) as journal:
        for n, kind in enumerate(FAULT_KINDS[:5]):
            fault = Fault(kind, n % 3, f"shop/Deployment/w{n}")
            journal.record_intent(f"i{n}", fault)
            journal.record_outcome(Injection(f"i{n}", fault, "applied", "ok"))
            journal.record_revert(f"i{n}", fault)
    return tuple(path.read_bytes().split(b"\n")[:-1])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tamper")


Mutation = tuple[str, int, int]


@st.composite
def mutations(draw: st.DrawFn, n: int) -> Mutation:
    op = draw(st.sampled_from(["flip", "remove", "swap", "copy"]))
    a = draw(st.integers(0, n - 1))
    b = draw(st.integers(0, n - 1).filter(lambda x: x != a))
    return op, a, b


def apply(lines: list[bytes], m: Mutation, data: st.DataObject) -> tuple[bytes, int, set[str]]:
    """The tampered file, the 1-based line at fault and the problem kinds that name it fairly."""
    op, a, b = m
    if op == "flip":
        line = bytearray(lines[a])
        at = data.draw(st.integers(0, len(line) - 1))
        line[at] = data.draw(st.sampled_from([c for c in b"0123456789abcdefxyz{}\":," if c != line[at]]))
        lines[a] = bytes(line)
        return b"".join(x + b"\n" for x in lines), a + 1, {"changed", "malformed", "header"}
    if op == "remove":
        del lines[a]
        return b"".join(x + b"\n" for x in lines), a + 1, {"removed", "header"}
    if op == "swap":
        lines[a], lines[b] = lines[b], lines[a]
        return b"".join(x + b"\n" for x in lines), min(a, b) + 1, {"reordered", "header"}
    lines.insert(b, lines[a])  # a replayed copy of record a, inserted before line b + 1
    if b <= a:
        return b"".join(x + b"\n" for x in lines), b + 1, {"reordered", "inserted", "header"}
    return b"".join(x + b"\n" for x in lines), b + 1, {"inserted"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_single_tampering_is_caught_at_its_line(folder: Path, data: st.DataObject) -> None:
    lines = list(base_lines(str(folder)))
    m = data.draw(mutations(len(lines)))
    tampered, line, kinds = apply(lines, m, data)
    if m[0] == "remove" and m[1] == len(lines):  # the last record cut off: needs the anchored head
        return
    path = folder / "tampered.jsonl"
    path.write_bytes(tampered)
    report = verify(path)
    assert not report.ok, m
    assert report.problem is not None
    assert (report.problem.line, report.problem.kind in kinds) == (line, True), (m, report.problem)


def test_threads_share_one_writer_without_breaking_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal.open(path, config_hash="c", policy_hash="p") as journal:
        def write(n: int) -> None:
            for i in range(25):
                journal.record_note(f"thread {n} note {i}")

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    report = verify(path)
    assert report.ok and report.records == 101
