"""The kill switch: one flag that stops every injection, and the file that holds it on this machine.

``KillSwitch`` is the Protocol the guard reads. ``FileKillSwitch`` keeps the flag as a file (written
by ``chaos-agent halt``, removed by ``chaos-agent resume``); the Kubernetes backend provides an
in-cluster one (a ConfigMap in the agent's namespace) behind the same Protocol.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from agent.errors import SafetyError


class KillSwitch(Protocol):
    """A halt flag shared between the daemon and the operator."""

    def is_halted(self) -> bool: ...

    def halt(self, reason: str) -> None: ...

    def resume(self) -> None: ...


@dataclass(frozen=True)
class HaltNotice:
    """What the halt file says: who halted, why, when (UTC)."""

    reason: str
    at: str
    pid: int


class FileKillSwitch:
    """The halt flag as a file: present means halted. Safe to share between processes.

    ``halt`` writes a temporary file and renames it into place, so a reader never sees half a notice;
    any existing file counts as halted even if it cannot be parsed (an operator's ``touch`` works).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_halted(self) -> bool:
        """Fails closed: a halt file whose presence cannot be checked counts as present."""
        try:
            os.stat(self.path)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return True

    def halt(self, reason: str) -> None:
        notice = {"reason": reason, "at": datetime.now(UTC).isoformat(), "pid": os.getpid()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".halt-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(notice, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as e:
            raise SafetyError(f"cannot write the halt file {self.path}: {e.strerror}; "
                              "check the [safety] halt_file path and its folder's permissions") from e

    def resume(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as e:
            raise SafetyError(f"cannot remove the halt file {self.path}: {e.strerror}") from e

    def notice(self) -> HaltNotice | None:
        """The halt notice, None when not halted; a file that is not a notice reads as an unknown reason."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            return HaltNotice(reason=f"the halt file {self.path} cannot be checked ({e.strerror}): halted "
                                     "until it can", at="", pid=0)
        try:
            raw = json.loads(text)
            return HaltNotice(reason=str(raw["reason"]), at=str(raw["at"]), pid=int(raw["pid"]))
        except (ValueError, KeyError, TypeError):
            return HaltNotice(reason=f"halt file {self.path} present", at="", pid=0)


class MemoryKillSwitch:
    """A process-local kill switch: for the simulated backend's training runs and for tests."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def is_halted(self) -> bool:
        return self.reason is not None

    def halt(self, reason: str) -> None:
        self.reason = reason

    def resume(self) -> None:
        self.reason = None
