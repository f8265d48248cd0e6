"""SIGTERM or SIGINT during ``chaos-agent run`` (a real subprocess): faults reverted, then the summary and the
report, and the conventional exit code (128 + the signal's number)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.audit import RecordKind, open_intents, verify
from agent.audit.records import parse_line

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"


def _intents(journal: Path) -> int:
    if not journal.exists():
        return 0
    records = (parse_line(x) for x in journal.read_bytes().split(b"\n")[:-1])
    return sum(1 for r in records if r is not None and r.kind is RecordKind.INTENT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_run_with_its_summary_and_report(tmp_path: Path, signum: signal.Signals) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[cluster.simulated]
manifests = "{EXAMPLES / 'storefront'}"
seed = 5
[policy]
strategy = "anomaly_weighted"
[safety]
error_budget = 1000000
[audit]
path = "audit.jsonl"
[findings]
path = "findings.sqlite"
""")
    report, journal = tmp_path / "report.json", tmp_path / "audit.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "--config", str(config), "--max-injections", "1000000",
         "--report", str(report)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _intents(journal) < 5 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, err[-2000:]
    assert "Traceback" not in err
    assert f"Stopped early: {signum.name} received." in out and "every fault reverted" in out
    data = json.loads(report.read_text())
    assert data["stopped"] == f"{signum.name} received" and data["injections"] >= 5
    assert open_intents(journal) == [] and verify(journal).ok
    assert f"audit trail: {journal}" in out and "--expected-head" in out
