"""The file kill switch (shared between processes) and the error budget's arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config.safety import SafetySettings
from agent.errors import SafetyError
from agent.safety import ErrorBudget, FileKillSwitch, SafetyGuard


def test_halt_and_resume_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "halt"
    switch = FileKillSwitch(path)
    assert not switch.is_halted() and switch.notice() is None
    switch.halt("pager went off")
    assert switch.is_halted()
    notice = switch.notice()
    assert notice is not None and notice.reason == "pager went off" and notice.at.endswith("+00:00")
    assert json.loads(path.read_text())["reason"] == "pager went off"
    switch.resume()
    switch.resume()  # idempotent
    assert not switch.is_halted()


def test_another_process_halting_stops_this_guard(tmp_path: Path) -> None:
    path = tmp_path / "halt"
    state = cluster([W("shop", "web", 2, on=(("n1", 1), ("n2", 1)))])
    guard = SafetyGuard(SafetySettings(halt_file=path), agent_namespace=AGENT_NS)
    assert guard.mask(state, targets_of(state), []).any()
    code = "import sys; from pathlib import Path; from agent.safety import FileKillSwitch; " \
           "FileKillSwitch(Path(sys.argv[1])).halt('from the CLI')"
    root = Path(__file__).parents[3]
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=root, timeout=60)
    assert not guard.mask(state, targets_of(state), []).any()


def test_a_hand_made_halt_file_counts(tmp_path: Path) -> None:
    path = tmp_path / "halt"
    path.write_text("stop")
    switch = FileKillSwitch(path)
    notice = switch.notice()
    assert switch.is_halted() and notice is not None and "present" in notice.reason


def test_an_unwritable_halt_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SafetyError, match="halt file"):
        FileKillSwitch(blocker / "halt").halt("x")


def test_error_budget_arithmetic() -> None:
    budget = ErrorBudget(2.0)
    assert not budget.exhausted and budget.remaining_s == 120.0
    budget.consume(90.0)
    assert not budget.exhausted and budget.remaining_s == 30.0
    budget.consume(30.0)
    assert budget.exhausted and "2 of 2" in budget.describe()
    zero = ErrorBudget(0.0)
    assert not zero.exhausted  # nothing burned yet: one experiment may run
    zero.consume(15.0)
    assert zero.exhausted
    with pytest.raises(SafetyError):
        budget.consume(-1.0)


def test_a_halt_file_that_cannot_be_checked_fails_closed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    switch = FileKillSwitch(blocker / "halt")  # its folder is a file: stat fails with ENOTDIR
    notice = switch.notice()
    assert switch.is_halted() and notice is not None and "cannot be checked" in notice.reason
