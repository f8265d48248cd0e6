"""Check a journal's hash chain and name the first record that was changed, removed, inserted or moved.

``chaos-agent audit verify PATH`` prints ``VerifyReport.describe()`` and exits non-zero unless ``ok``.
The chain proves the order and content of what is there. Sealed with the audit key, no one without the
key can rewrite it; unkeyed (plain SHA-256), anyone who can write the file can re-hash it whole. A head
hash published elsewhere (``expected_head``, the daemon's ``audit_head`` log line or Event) must be in
the chain: a journal rewritten or cut off before that point no longer passes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.audit.records import GENESIS, UNKEYED, AuditRecord, RecordKind, Sealer, line_hash, parse_line, seal_ok
from agent.errors import AuditError

ProblemKind = Literal["malformed", "changed", "removed", "inserted", "reordered", "header", "mismatch", "key"]


@dataclass(frozen=True)
class Problem:
    line: int
    """1-based line number of the record at fault (for "removed": the first record after the gap)."""
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    records: int
    head: str | None
    """SHA-256 of the last complete line."""
    problem: Problem | None
    torn_tail_bytes: int = 0
    """Bytes after the last newline: a crash mid-write, not tampering; the writer repairs it on open."""
    key_id: str | None = None
    """The key the seals were checked with; None: an unkeyed journal, checked with plain SHA-256."""
    anchored_at: int | None = None
    """The line whose hash is the expected head, when one was given and found."""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.problem is not None:
            p = self.problem
            return f"{self.path}: FAILED at line {p.line} ({p.kind}): {p.message}"
        notes = []
        if self.anchored_at is not None:
            newer = self.records - self.anchored_at
            notes.append(f"passes through the expected head at line {self.anchored_at}"
                         + (f", {newer} newer record(s) after it" if newer else ""))
        if self.key_id is not None:
            notes.append(f"sealed with the audit key (key id {self.key_id})")
        else:
            notes.append("WARNING unkeyed: plain SHA-256, which anyone who can write the file can recompute for "
                         "a rewritten journal; only a head published elsewhere (--expected-head) shows a rewrite. "
                         "Set [audit] key_file to seal new journals with a key")
        if self.torn_tail_bytes:
            notes.append(f"a torn last record of {self.torn_tail_bytes} bytes (crash mid-write) will be dropped "
                         "on the next open")
        return f"{self.path}: ok, {self.records} records, head {self.head}; " + "; ".join(notes)


def verify(path: Path, *, expected_head: str | None = None, sealer: Sealer | None = None) -> VerifyReport:
    """Check the journal at ``path``; ``sealer`` holds the audit key (None: none was given)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AuditError(f"cannot read the audit journal {path}: {e.strerror}") from e
    lines = data.split(b"\n")
    torn = len(lines.pop())
    records = [parse_line(line) for line in lines]
    header = records[0] if records else None
    written_with = header.key_id if header is not None and header.kind is RecordKind.HEADER else None
    if sealer is None and written_with is not None:
        keyed = Problem(1, "key", f"the journal is sealed with a key (key id {written_with}); pass its key file "
                                  "(--key-file, or --config with [audit] key_file) to verify it")
        return VerifyReport(path=path, records=len(lines), head=None, problem=keyed, torn_tail_bytes=torn)
    sealer = sealer or UNKEYED
    sealed = [seal_ok(line, sealer) for line in lines]
    hashes = [line_hash(line) for line in lines]
    problem = _first_problem(records, sealed, hashes)
    if problem is not None and problem.kind == "changed" and sealer.key_id is not None:
        problem = _unsealed(problem, sealer, written_with)
    anchored_at = None
    if problem is None and expected_head is not None:
        problem, anchored_at = _check_head(hashes, expected_head)
    return VerifyReport(path=path, records=len(lines), head=hashes[-1] if hashes else None, problem=problem,
                        torn_tail_bytes=torn, key_id=sealer.key_id, anchored_at=anchored_at)


def _unsealed(problem: Problem, sealer: Sealer, written_with: str | None) -> Problem:
    """Say why a keyed check failed: edited and re-sealed without the key, or the wrong key."""
    which = (f" (the header names key id {written_with}, the given key is key id {sealer.key_id})"
             if written_with != sealer.key_id else "")
    return Problem(problem.line, "changed", f"{problem.message}; with the key, that also means the line was "
                                            f"re-sealed by someone without the key{which}")


def _first_problem(records: list[AuditRecord | None], sealed: list[bool], hashes: list[str]
                   ) -> Problem | None:
    if not records:
        return Problem(1, "header", "the journal has no complete record; it must start with a header")
    for n, r in enumerate(records, start=1):
        if r is None:
            return Problem(n, "malformed", f"line {n} is not a journal record (changed, inserted, or part "
                                           "of the file cut out)")
        if not sealed[n - 1]:
            return Problem(n, "changed", f"line {n} does not match its own seal: it was changed after it "
                                         "was written (or bytes around it were cut out)")
        found = _seq_problem(records, hashes, n, r) or _chain_problem(records, hashes, n, r)
        if found is not None:
            return found
    return None


def _seq_problem(records: list[AuditRecord | None], hashes: list[str], n: int, r: AuditRecord
                 ) -> Problem | None:
    want = n - 1
    if r.seq > want:
        later = next((m for m, o in enumerate(records[n:], n + 1) if o is not None and o.seq == want), None)
        if later is not None:
            return Problem(n, "reordered", f"line {n} has seq {r.seq} where {want} belongs; record {want} "
                                           f"is at line {later}")
        return Problem(n, "removed", f"records seq {want}..{r.seq - 1} are missing before line {n}")
    if r.seq < want:
        twin = next((j for j, o in enumerate(records[:n - 1], 1) if o is not None and o.seq == r.seq), None)
        if twin is None:
            return Problem(n, "changed", f"line {n} has seq {r.seq} where {want} belongs")
        # Of two records with one seq, the original is the one whose hash a later record points to.
        referenced = {o.prev for o in records if o is not None}
        inserted = n if hashes[twin - 1] in referenced else twin
        return Problem(inserted, "inserted", f"lines {twin} and {n} both claim seq {r.seq}; line {inserted} "
                                             "is not part of the chain")
    return None


def _chain_problem(records: list[AuditRecord | None], hashes: list[str], n: int, r: AuditRecord
                   ) -> Problem | None:
    if n == 1:
        if r.kind is not RecordKind.HEADER or r.prev != GENESIS:
            return Problem(1, "header", "line 1 is not a journal header (kind header, prev of 64 zeros)")
        return None
    if r.kind is RecordKind.HEADER:
        return Problem(n, "inserted", f"line {n} is a second header")
    if r.prev == hashes[n - 2]:
        return None
    nxt = records[n] if n < len(records) else None
    if nxt is not None and nxt.seq == r.seq and nxt.prev == hashes[n - 2]:
        return Problem(n, "inserted", f"line {n} claims seq {r.seq}, which line {n + 1} holds, and does not "
                                      "chain to its predecessor")
    return Problem(n - 1, "changed", f"line {n - 1} no longer hashes to the prev recorded at line {n} "
                                     f"(line {n - 1} was changed, or line {n}'s prev)")


def _check_head(hashes: list[str], expected: str) -> tuple[Problem | None, int | None]:
    """The chain must pass through a head published earlier; records after it are newer, which is fine."""
    if expected in hashes:
        return None, hashes.index(expected) + 1
    return Problem(len(hashes), "mismatch", f"the expected head {expected} is not in the journal: records up to "
                                            "it were removed, changed or re-hashed, or the end was cut off"), None
