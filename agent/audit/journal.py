"""The audit journal's writer: append-only, hash-chained, write-ahead, one writer at a time.

``record_intent`` returns only after the intent is on disk (written and fsynced), so the daemon
applies a fault only once the journal can prove it meant to. A crash mid-write leaves a torn last
line; ``AuditJournal.open`` cuts it off and says so in a note (it was never acknowledged, so nothing
acted on it). Rotation is out of scope: archive the file and start a new one between game days.
A journal is keyed or not for its whole life: its header says which, and the writer refuses to go on
with another key (or none), which would leave a chain no single key verifies.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from agent import __version__
from agent.audit.keys import load_sealer
from agent.audit.records import GENESIS, UNKEYED, AuditRecord, RecordKind, Sealer, line_hash, parse_line, utc_now
from agent.config.records import AuditSettings
from agent.errors import AuditError
from envs.cluster import Injection
from envs.faults import Fault

TAIL_CHUNK = 64 * 1024
MAX_EVIDENCE = 500
"""Characters of a torn record kept in the repair note, as evidence."""


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()


class AuditJournal:
    """The open journal. Use ``AuditJournal.open(...)`` and close it (or use it as a context manager)."""

    def __init__(self, path: Path, fd: int, head: str, seq: int, sealer: Sealer = UNKEYED) -> None:
        self.path = path
        self.sealer = sealer
        self._fd: int | None = fd
        self.head = head
        """SHA-256 of the last record's line: anchor it elsewhere to detect a cut-off tail."""
        self.next_seq = seq
        self.repaired_bytes = 0
        self._lock = threading.Lock()
        self._broken: str | None = None

    @classmethod
    def from_settings(cls, settings: AuditSettings, *, config_hash: str, policy_hash: str) -> AuditJournal:
        """The journal ``[audit]`` names, sealed with its ``key_file`` when one is set."""
        return cls.open(settings.path, config_hash=config_hash, policy_hash=policy_hash,
                        sealer=load_sealer(settings.key_file))

    @classmethod
    def open(cls, path: Path, *, config_hash: str, policy_hash: str, agent_version: str = __version__,
             sealer: Sealer = UNKEYED) -> AuditJournal:
        """Open (or create with its header) the journal at ``path``, locked against other writers."""
        fd = _open_locked(path)
        try:
            journal = cls(path, fd, GENESIS, 0, sealer)
            torn = journal._recover()
            fresh = journal.next_seq == 0
            if not fresh:
                _check_same_key(path, fd, sealer)
            journal._append(RecordKind.HEADER if fresh else RecordKind.NOTE,
                            format=sealer.format if fresh else None, key_id=sealer.key_id if fresh else None,
                            detail=None if fresh else "session opened", agent_version=agent_version,
                            config_hash=config_hash, policy_hash=policy_hash)
            if fresh:
                _fsync_dir(path)
            if torn:
                journal.repaired_bytes = len(torn)
                journal._append(RecordKind.NOTE, status="repaired", detail=(
                    f"dropped a torn final record of {len(torn)} bytes (a crash mid-write; it was never "
                    f"acknowledged): {torn[:MAX_EVIDENCE].decode('utf-8', 'replace')}"))
            return journal
        except BaseException:
            os.close(fd)
            raise

    def _recover(self) -> bytes:
        """Find the chain's head; cut off a torn last line and return its bytes."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == 0:
            return b""
        last, torn = _tail(self._fd, size)
        if torn:
            os.ftruncate(self._fd, size - len(torn))
            os.fsync(self._fd)
        if last is None:
            return torn  # only a torn header: start over with a fresh one
        record = parse_line(last)
        if record is None:
            raise AuditError(f"the last record of the audit journal {self.path} is not a journal record; "
                             f"run `chaos-agent audit verify {self.path}` and move the file aside")
        self.head, self.next_seq = line_hash(last), record.seq + 1
        return torn

    def position(self) -> tuple[int, str]:
        """(seq of the last record, SHA-256 of its line): the head to anchor elsewhere."""
        with self._lock:
            return self.next_seq - 1, self.head

    # -- the records ---------------------------------------------------------------------------

    def record_intent(self, injection_id: str, fault: Fault, *, dry_run: bool = False) -> AuditRecord:
        """Write-ahead: returns once the intent is fsynced; only then may the fault be applied."""
        return self._append(RecordKind.INTENT, injection_id=injection_id, fault=fault, target=fault.target,
                            status="dry_run" if dry_run else "pending")

    def record_outcome(self, injection: Injection, *, error: BaseException | None = None) -> AuditRecord:
        """What the cluster said: applied, refused, failed or dry_run (the last three close the intent)."""
        return self._append(RecordKind.OUTCOME, injection_id=injection.id, fault=injection.fault,
                            target=injection.fault.target, status=injection.outcome,
                            detail=injection.detail or None, pods=injection.affected_pods,
                            exception=exception_text(error) if error is not None else None)

    def record_revert(self, injection_id: str, fault: Fault, *, error: BaseException | None = None,
                      detail: str | None = None) -> AuditRecord:
        """After the revert: "reverted" closes the intent, "failed" (``error`` given) keeps it open."""
        return self._append(RecordKind.REVERT, injection_id=injection_id, fault=fault, target=fault.target,
                            status="failed" if error is not None else "reverted", detail=detail,
                            exception=exception_text(error) if error is not None else None)

    def record_finding(self, finding_id: str, *, injection_id: str | None, target: str, status: str,
                       detail: str) -> AuditRecord:
        return self._append(RecordKind.FINDING, finding_id=finding_id, injection_id=injection_id,
                            target=target, status=status, detail=detail)

    def record_halt(self, reason: str) -> AuditRecord:
        return self._append(RecordKind.HALT, detail=reason)

    def record_resume(self, reason: str) -> AuditRecord:
        return self._append(RecordKind.RESUME, detail=reason)

    def record_note(self, detail: str, *, status: str | None = None) -> AuditRecord:
        return self._append(RecordKind.NOTE, detail=detail, status=status)

    # -- writing -------------------------------------------------------------------------------

    def _append(self, kind: RecordKind, *, fault: Fault | None = None, pods: Sequence[str] = (),
                **fields: str | None) -> AuditRecord:
        with self._lock:
            if self._fd is None:
                raise AuditError(f"the audit journal {self.path} is closed")
            if self._broken is not None:
                raise AuditError(f"the audit journal {self.path} failed earlier ({self._broken}); reopen it "
                                 "to repair the last record")
            record = AuditRecord(seq=self.next_seq, prev=self.head, kind=kind, ts=utc_now(), fault=fault,
                                 pods=tuple(pods), **fields)
            line = record.to_line(self.sealer)
            try:
                _write_all(self._fd, line + b"\n")
                os.fsync(self._fd)
            except OSError as e:
                self._broken = e.strerror or str(e)
                raise AuditError(f"cannot write to the audit journal {self.path}: {e.strerror}") from e
            self.head, self.next_seq = line_hash(line), self.next_seq + 1
            return record

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)  # closing releases the flock
                self._fd = None

    def __enter__(self) -> AuditJournal:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _check_same_key(path: Path, fd: int, sealer: Sealer) -> None:
    """Refuse to extend a journal sealed with another key, or with none, than ``sealer``'s."""
    first = os.pread(fd, TAIL_CHUNK, 0).split(b"\n", 1)[0]
    header = parse_line(first)
    written_with = header.key_id if header is not None else None
    if written_with == sealer.key_id:
        return
    if sealer.key_id is None:
        raise AuditError(f"the audit journal {path} is sealed with a key (key id {written_with}) and [audit] "
                         "key_file is not set: set it to that key's file")
    if written_with is None:
        raise AuditError(f"the audit journal {path} was written without a key and [audit] key_file is now set: "
                         "a journal is keyed from its first line, so start a new one (check the old one with "
                         f"`chaos-agent audit verify {path}`, keep it, and set [audit] path to a new file)")
    raise AuditError(f"the audit journal {path} is sealed with key id {written_with}, but [audit] key_file holds "
                     f"key id {sealer.key_id}: point key_file to the journal's key, or start a new journal")


def _open_locked(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    except OSError as e:
        raise AuditError(f"cannot open the audit journal {path}: {e.strerror}; check [audit] path") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise AuditError(f"the audit journal {path} is locked by another process; one chaos-agent writes "
                             "a journal at a time: stop the other one or set another [audit] path") from e
        raise AuditError(f"cannot lock the audit journal {path}: {e.strerror}") from e
    return fd


def _tail(fd: int, size: int) -> tuple[bytes | None, bytes]:
    """(last complete line without its newline or None, torn bytes after the last newline)."""
    end = size
    buf = b""
    while True:
        start = max(0, end - TAIL_CHUNK)
        buf = os.pread(fd, end - start, start) + buf
        end = start
        last_nl = buf.rfind(b"\n")
        if last_nl >= 0:
            prev_nl = buf.rfind(b"\n", 0, last_nl)
            if prev_nl >= 0 or start == 0:
                return buf[prev_nl + 1:last_nl], buf[last_nl + 1:]
        elif start == 0:
            return None, buf


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    """Make the new file's directory entry durable too."""
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
