"""The README's main job: the default config on the embedded ML platform, 60 injections.

It must find weaknesses in at least four of the five fault families and never report a decoy: every
finding must match a weakness the scenario planted (scored with the hidden ids, only here). The weaknesses
it reports must be within 25 % of the distinct root causes planted, each with its findings, one per planted
root cause, and at least 90 % of those of a known kind with a fix the twin verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.config import load_config
from envs.design_basis import classify
from envs.faults import Fault, FaultKind
from envs.scenarios import Scenario, builtin, distinct_causes, score_finding

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("main-job")
    text = (ROOT / "config.toml").read_text().replace('path = "var/', f'path = "{tmp_path}/var/')
    config_path = tmp_path / "config.toml"
    config_path.write_text(text)
    report = tmp_path / "report.json"
    assert main(["run", "--config", str(config_path), "--max-injections", "60", "--report", str(report),
                 "--quiet"]) == 0
    return config_path, dict(json.loads(report.read_text()))


def test_default_config_finds_four_families_and_no_decoy(main_job: tuple[Path, dict[str, Any]]) -> None:
    config_path, data = main_job
    assert data["injections"] == 60
    families = {f["fault"]["family"] for f in data["findings"]}
    assert len(families) >= 4, families
    sim = load_config(config_path).cluster.simulated
    scenario = builtin(sim.scenario or "ml-platform", sim.seed)
    for f in data["findings"]:
        faults = [Fault(FaultKind(c["kind"]), int(c["intensity"]), c["target"]) for c in f.get("concurrent", [])]
        faults.append(Fault(FaultKind(f["fault"]["kind"]), int(f["fault"]["intensity"]), f["target"]))
        assert score_finding(scenario, faults, f["violation"], f["affected"]) is not None, f


def _planted_root_causes(scenario: Scenario) -> tuple[int, int]:
    """(planted weaknesses, those whose canonical trigger is within the design basis): the answer key's count of
    distinct root causes, and how many of them a design-basis fault can show at all."""
    reachable = 0
    for w in scenario.weaknesses:
        canonical = [Fault(min(r.kinds), r.min_intensity, r.target) for r in w.triggers[0].requires]
        reachable += classify(canonical, scenario.spec).within
    return len(scenario.weaknesses), reachable


def test_default_config_reports_one_weakness_per_planted_root_cause(main_job: tuple[Path, dict[str, Any]]) -> None:
    config_path, data = main_job
    sim = load_config(config_path).cluster.simulated
    scenario = builtin(sim.scenario or "ml-platform", sim.seed)
    planted, reachable = _planted_root_causes(scenario)
    weaknesses = data["weaknesses"]
    for count in (planted, reachable):
        assert abs(len(weaknesses) - count) <= 0.25 * count, (len(weaknesses), planted, reachable)
    findings = {f["id"]: f for f in data["findings"]}
    classes: list[set[str | None]] = []
    for w in weaknesses:
        assert w["findings"] and set(w["findings"]) <= set(findings), "each weakness with its findings attached"
        faults_of = {fid: [*(Fault(FaultKind(c["kind"]), int(c["intensity"]), c["target"])
                             for c in findings[fid].get("concurrent", [])),
                           Fault(FaultKind(findings[fid]["fault"]["kind"]), int(findings[fid]["fault"]["intensity"]),
                                 findings[fid]["target"])] for fid in w["findings"]}
        found = {score_finding(scenario, faults_of[fid], findings[fid]["violation"], findings[fid]["affected"])
                 for fid in w["findings"]}
        classes.append(found - {None})
    assert len(distinct_causes(classes)) == len(weaknesses), ("two weaknesses for one planted root cause", classes)
    known = [w for w in weaknesses if w["kind"] != "unexplained"]
    assert sum(w["remediation"]["verified"] for w in known) >= 0.9 * len(known)
