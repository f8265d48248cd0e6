"""Kill-switch latency: time from ``chaos-agent halt`` to every active fault reverted, through the emulator.

A real ``chaos-agent run`` daemon drives the Kubernetes API emulator (tests/emulator, with the simulator
playing the control plane in real time). Each trial waits until a fault is applied (30 s experiments,
so it stays active), runs the ``chaos-agent halt`` command as an operator would, and measures until
(a) the journal holds the fault's revert and (b) the cluster holds no trace of it (no object with our
labels, no taint, annotation or cordon of ours, GPU counts restored). Then ``chaos-agent resume`` and
the next trial. Prints the median and p95 of both, and the command line.

    python benchmarks/kill_switch.py --trials 20
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    active_fault,
    agent_config,
    free_port,
    journal_records,
    wait_for,
)
from tests.emulator.server import KubernetesEmulator


def _cli(*args: str) -> float:
    """Run a ``chaos-agent`` command; returns when it exits (its own start-up included)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, check=True, capture_output=True)
    return time.monotonic() - started


def _reverted(journal: Path, injection_id: str) -> bool:
    return any(r.kind.value == "revert" and r.status == "reverted" and r.injection_id == injection_id
               for r in journal_records(journal))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll", type=float, default=1.0, help="[agent] kill_switch_poll_s of the daemon")
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)
    emulator = KubernetesEmulator(chaos_mesh=True).start()
    live = LiveCluster(emulator).start()
    folder = Path(tempfile.mkdtemp(prefix="kill-switch-"))
    config = agent_config(folder, kubeconfig=live.kubeconfig(folder / "kubeconfig.json"), port=free_port(),
                          fault_duration_s=30)
    text = config.read_text().replace("kill_switch_poll_s = 0.2", f"kill_switch_poll_s = {args.poll}")
    config.write_text(text)
    journal = folder / "audit.jsonl"
    agent = AgentProcess(config, name="bench").start()
    to_journal, to_clean, cli_s, families = [], [], [], []
    try:
        for trial in range(args.trials):
            fault = wait_for(lambda: active_fault(journal), 60, f"an applied fault (trial {trial + 1})")
            families.append(next(r.fault.kind.value for r in journal_records(journal)
                                 if r.injection_id == fault and r.fault is not None))
            started = time.monotonic()
            cli_s.append(_cli("halt", "--config", str(config), "--reason", f"benchmark trial {trial + 1}"))
            wait_for(partial(_reverted, journal, fault), 30, "the revert in the journal", interval_s=0.005)
            to_journal.append(time.monotonic() - started)
            wait_for(lambda: not live.leftovers(), 30, "a clean cluster", interval_s=0.005)
            to_clean.append(time.monotonic() - started)
            _cli("resume", "--config", str(config))
        code, _ = agent.terminate()
    finally:
        agent.stop()
        live.stop()
        emulator.stop()
    command = shlex.join(["python", "benchmarks/kill_switch.py", *(argv if argv is not None else sys.argv[1:])])
    report = {
        "command": command, "trials": args.trials, "kill_switch_poll_s": args.poll, "exit_code": code,
        "halt_command_s": {"median": statistics.median(cli_s), "p95": _p95(cli_s)},
        "halt_to_revert_journalled_s": {"median": statistics.median(to_journal), "p95": _p95(to_journal)},
        "halt_to_cluster_clean_s": {"median": statistics.median(to_clean), "p95": _p95(to_clean)},
        "faults": sorted(set(families)),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
