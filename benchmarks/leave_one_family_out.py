"""Leave-one-family-out: does what the policy learned hold on a topology family it never trained on?

For each topology family F, a policy is trained without F's clusters (``chaos-agent train
--without-family F``), and one on every family with the same recipe (``lofo-none``); then every policy
plays the same held-out clusters side by side (``chaos-agent benchmark --compare``). The table compares, per family, the
recall of the policy that never saw F with the recall of the one that did, on F's held-out clusters.
Training runs one after another (each uses every core); their logs go to ``RUNS/lofo-*.log``.

    python benchmarks/leave_one_family_out.py --runs runs [--states 6000 --rounds 1 --clusters 120] \\
        [--seeds 30 --budget 50] [--json out.json] [--skip-training]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.scenarios import FAMILY_NAMES


def train(runs: Path, family: str, args: argparse.Namespace) -> float:
    """Train ``lofo-<family>`` without that family (``lofo-none``: on every family); seconds it took."""
    out = runs / f"lofo-{family}"
    if (out / "policy.json").is_file():
        return 0.0
    leave = [] if family == "none" else ["--without-family", family]
    cmd = ["chaos-agent", "train", "--timesteps", "0", "--warm-start", str(args.states), "--dagger-rounds",
           str(args.rounds), "--clusters", str(args.clusters), *leave, "--out", str(out), "--seed", str(args.seed),
           "--no-progress"]
    started = time.monotonic()
    with (runs / f"lofo-{family}.log").open("w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return time.monotonic() - started


def table(report: dict[str, object], reference: str) -> list[dict[str, object]]:
    strategies = report["strategies"]  # type: ignore[index]
    rows = []
    for family in FAMILY_NAMES:
        seen = strategies[reference]["recall_by_family"].get(family)  # type: ignore[index]
        unseen = strategies[f"lofo-{family}"]["recall_by_family"].get(family)  # type: ignore[index]
        rows.append({"family": family, "trained_on_it": seen, "never_saw_it": unseen,
                     "gap": None if seen is None or unseen is None else round(seen - unseen, 3)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--states", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--clusters", type=int, default=120)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    seconds = {} if args.skip_training else {f: round(train(args.runs, f, args), 1) for f in ("none", *FAMILY_NAMES)}
    bench = args.runs / "lofo-benchmark.json"
    cmd = ["chaos-agent", "benchmark", "--seeds", str(args.seeds), "--budget", str(args.budget), "--json", str(bench),
           "--strategies", "rl", "--policy", str(args.runs / "lofo-none"),
           *(x for f in FAMILY_NAMES for x in ("--compare", f"lofo-{f}={args.runs / f'lofo-{f}'}"))]
    subprocess.run(cmd, check=True)
    report = json.loads(bench.read_text())
    rows = table(report, "rl")
    out = {"command": " ".join(sys.argv), "training_seconds": seconds, "families": rows,
           "benchmark": str(bench)}
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
