"""The processes of the test control plane: one class for a long-running binary with its log.

Every process gets the parent-death signal SIGKILL, so a test runner killed mid-run (kill -9 of a
pytest-xdist worker) takes its API server and hollow nodes with it instead of leaving them running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Component:
    """One binary of the control plane (etcd, kube-apiserver, a hollow node, ...)."""

    def __init__(self, name: str, args: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.args = list(args)
        self.log = log
        self.env = dict(env or {})
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Component:
        if self.alive():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n==== start {self.starts}: {' '.join(self.args)}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env}, cwd=self.cwd, preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; a SIGSTOPped process is resumed first."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the process vanishes as in a crash or a power loss of its machine."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the process hangs (a stalled machine); ``resume`` continues it."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)

    def log_tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}):\n{text[-chars:]}"

    def check_running(self) -> None:
        """Raise with the log's end when the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}")


def running_check(components: Callable[[], Sequence[Component]]) -> Callable[[], str]:
    """A ``detail`` for ``wait_until``: the logs of whatever has exited, else of everything."""

    def detail() -> str:
        dead = [c for c in components() if c.process is not None and c.process.poll() is not None]
        return "\n".join(c.log_tail(1500) for c in (dead or components()))

    return detail
