"""Weaknesses against the issue's targets: counts against planted root causes, robust controls, verified fixes.

Four measurements, printed as Markdown for docs/benchmarks.md:

1. the README's main job (``chaos-agent run --config config.toml --max-injections 60``): weaknesses reported
   against the distinct root causes the ml-platform scenario plants (its answer key), findings behind them,
   fixes verified in the twin, and the wall time the weakness step adds to the run (median of ``--repeat``);
2. every design-basis fault on the built-in scenarios and on the demo shop's manifests
   (examples/manifests/storefront): weaknesses, the planted class behind each, fixes verified;
3. every design-basis fault on the robust control clusters (examples/manifests/robust/*): weaknesses;
4. the share of weaknesses of a known kind whose fix the twin verifies, over all of the above.

    python benchmarks/weaknesses.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.cli import main
from envs.design_basis import classify
from envs.experiment import Timing
from envs.faults import Fault, FaultKind
from envs.scenarios import Scenario, builtin, distinct_causes, score_finding
from envs.spec import ClusterSpec
from envs.twin import load_manifests
from envs.weaknesses import RootCause
from envs.weaknesses.remedy import remediation_for
from envs.weaknesses.sweep import design_basis_sweep
from envs.weaknesses.verify import Reproduction, verify

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(1, 9)


def planted(scenario: Scenario) -> tuple[int, int]:
    """(planted weaknesses, those whose canonical trigger lies within the design basis)."""
    reachable = sum(classify([Fault(min(r.kinds), r.min_intensity, r.target) for r in w.triggers[0].requires],
                             scenario.spec).within for w in scenario.weaknesses)
    return len(scenario.weaknesses), reachable


def main_job(repeat: int) -> tuple[str, list[bool]]:
    walls, weak_walls, data = [], [], {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "config.toml"
            cfg.write_text((ROOT / "config.toml").read_text().replace('path = "var/', f'path = "{tmp}/var/'))
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                assert main(["run", "--config", str(cfg), "--max-injections", "60", "--quiet",
                             "--report", f"{tmp}/r.json"]) == 0
            walls.append(time.perf_counter() - started)
            data = json.loads(Path(f"{tmp}/r.json").read_text())
            weak_walls.append(_weakness_step(cfg, Path(tmp)))
    scenario = builtin("ml-platform", 7)
    n_planted, n_reachable = planted(scenario)
    weaknesses = data["weaknesses"]
    known = [w for w in weaknesses if w["kind"] != "unexplained"]
    by_id = {f["id"]: f for f in data["findings"]}
    rows = []
    causes = distinct_causes([{_class(scenario, by_id[f]) for f in w["findings"]} for w in weaknesses])
    for w in weaknesses:
        classes = Counter(_class(scenario, by_id[f]) for f in w["findings"])
        rows.append(f"| {w['id']} | {w['kind']} | {len(w['findings'])} | {dict(classes)} | "
                    f"{w['remediation']['verified'] if w['remediation'] else '-'} |")
    text = "\n".join([
        f"- planted root causes (answer key): {n_planted}; within the design basis: {n_reachable}",
        f"- weaknesses reported: {len(weaknesses)} from {len(data['findings'])} findings; impact (beyond the "
        f"design basis): {len(data['impact'])} findings",
        f"- planted root causes they stand for, one each: {len(causes)} of {len(weaknesses)} weaknesses",
        f"- fixes verified in the twin: {sum(w['remediation']['verified'] for w in known)} of {len(known)}",
        f"- run wall time: median {statistics.median(walls):.1f} s over {repeat}; the weakness step "
        f"(analysis + fixes verified): median {statistics.median(weak_walls):.1f} s",
        "", "| weakness | kind | findings | planted class of its findings | fix verified |", "|---|---|---|---|---|",
        *rows])
    return text, [bool(w["remediation"]["verified"]) for w in known]


def _weakness_step(cfg: Path, tmp: Path) -> float:
    """Seconds the weakness step takes after a run (analysis, every fix worked out and verified): timed again on a
    copy of the run's store without its weaknesses, as the run met it."""
    from agent.config import load_config
    from agent.findings import FindingStore
    from agent.weaknesses.session import after_game_day

    config = load_config(cfg)
    copy = tmp / "copy.sqlite"
    shutil.copyfile(config.findings.path, copy)
    with sqlite3.connect(copy) as db:
        db.executescript("DROP TABLE weakness_events; DROP TABLE weakness_tickets; DROP TABLE weaknesses;")
    config = dataclasses.replace(config, findings=dataclasses.replace(config.findings, path=copy))
    with FindingStore(copy) as store:
        findings = store.all()
        started = time.perf_counter()
        after_game_day(spec=builtin("ml-platform", 7).spec, config=config, findings=store, run_findings=findings,
                       exporters={}, now=findings[0].last_seen)
        return time.perf_counter() - started


def _class(scenario: Scenario, f: dict[str, Any]) -> str | None:
    faults = [Fault(FaultKind(c["kind"]), int(c["intensity"]), c["target"]) for c in f.get("concurrent", [])]
    faults.append(Fault(FaultKind(f["fault"]["kind"]), int(f["fault"]["intensity"]), f["target"]))
    return score_finding(scenario, faults, f["violation"], f["affected"])


def swept(name: str, spec: ClusterSpec, scenario: Scenario | None) -> tuple[str, list[bool]]:
    started = time.perf_counter()
    sweep = design_basis_sweep(spec, seeds=(1,))
    sweep_s = time.perf_counter() - started
    verified: list[bool] = []
    classes: list[set[str | None]] = []
    for w in sweep.assessment.weaknesses:
        if w.cause is RootCause.UNEXPLAINED:
            continue
        fix = remediation_for(spec, w)
        reps = [Reproduction(f, sweep.cases[f].faults) for f in w.findings[:6]]
        verified.append(fix is not None and verify(spec, w.id, fix, reps, seeds=SEEDS, timing=Timing()).verified)
        if scenario is not None:
            classes.append({score_finding(scenario, sweep.cases[f].faults, sweep.cases[f].violation,
                                          sweep.cases[f].affected) for f in w.findings})
    unexplained = sum(w.cause is RootCause.UNEXPLAINED for w in sweep.assessment.weaknesses)
    planted_text = "-"
    if scenario is not None:
        n_planted, n_reachable = planted(scenario)
        distinct = len(distinct_causes(classes))
        planted_text = f"{n_planted} ({n_reachable} within the basis); distinct classes found {distinct}"
    return (f"| {name} | {sweep.experiments} | {sweep_s:.1f} s | {len(sweep.assessment.weaknesses)} "
            f"({unexplained} unexplained) | {planted_text} | {sum(verified)} of {len(verified)} |"), verified


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    job, verified = main_job(args.repeat)
    print("### The main job\n")
    print(job)
    print("\n### Every design-basis fault (one seed), fixes verified with 8 seeds\n")
    print("| cluster | experiments | sweep time | weaknesses | planted root causes | fixes verified |")
    print("|---|---|---|---|---|---|")
    clusters: list[tuple[str, ClusterSpec, Scenario | None]] = [
        ("ml-platform (built-in)", builtin("ml-platform", 7).spec, builtin("ml-platform", 7)),
        ("storefront (built-in)", builtin("storefront").spec, builtin("storefront")),
        ("demo shop manifests (examples/manifests/storefront)", load_manifests(ROOT / "examples/manifests/storefront"),
         None),
    ]
    clusters += [(f"robust control: {p.name}", load_manifests(p), None)
                 for p in sorted((ROOT / "examples/manifests/robust").iterdir()) if p.is_dir()]
    for name, spec, scenario in clusters:
        line, ok = swept(name, spec, scenario)
        verified += ok
        print(line)
    print(f"\nfixes verified over every weakness of a known kind above: {sum(verified)} of {len(verified)} "
          f"({sum(verified) / max(len(verified), 1):.0%})")


if __name__ == "__main__":
    main_cli()
