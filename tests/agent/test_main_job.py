"""The README's main job: the default config on the embedded ML platform, 60 injections.

It must find weaknesses in at least four of the five fault families and never report a decoy: every
finding must match a weakness the scenario planted (scored with the hidden ids, only here)."""

from __future__ import annotations

import json
from pathlib import Path

from agent.cli import main
from agent.config import load_config
from envs.faults import Fault, FaultKind
from envs.scenarios import builtin, score_finding

ROOT = Path(__file__).resolve().parents[2]


def test_default_config_finds_four_families_and_no_decoy(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text().replace('path = "var/', f'path = "{tmp_path}/var/')
    config_path = tmp_path / "config.toml"
    config_path.write_text(text)
    report = tmp_path / "report.json"
    assert main(["run", "--config", str(config_path), "--max-injections", "60", "--report", str(report),
                 "--quiet"]) == 0
    data = json.loads(report.read_text())
    assert data["injections"] == 60
    families = {f["fault"]["family"] for f in data["findings"]}
    assert len(families) >= 4, families
    sim = load_config(config_path).cluster.simulated
    scenario = builtin(sim.scenario or "ml-platform", sim.seed)
    for f in data["findings"]:
        faults = [Fault(FaultKind(c["kind"]), int(c["intensity"]), c["target"]) for c in f.get("concurrent", [])]
        faults.append(Fault(FaultKind(f["fault"]["kind"]), int(f["fault"]["intensity"]), f["target"]))
        assert score_finding(scenario, faults, f["violation"], f["affected"]) is not None, f
