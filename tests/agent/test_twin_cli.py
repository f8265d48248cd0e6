"""The twin from the command line: `run` on manifests (limits, the "no workload" error, no error budget by
default), `twin build` and `twin show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from tests.envs.twin.objects import deployment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def config_for(tmp_path: Path, manifests: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[cluster.simulated]\nmanifests = "{manifests}"\nseed = 3\n'
                    f'[policy]\nstrategy = "uniform_random"\n{extra}')
    return path


def test_no_workload_error_names_each_skipped_object_and_why(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"}, "spec": {"containers": [{"name": "a"}]}}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "app.yaml").write_text(yaml.safe_dump_all([bare, deployment("web", replicas="three")]))
    assert main(["run", "--config", str(config_for(tmp_path, tmp_path / "m")), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds no workload the twin can model" in err
    assert "skipped Deployment default/web (app.yaml:" in err and "spec.replicas must be" in err
    assert "skipped Pod default/solo (app.yaml:1): a bare Pod" in err


def test_replica_bound_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "app.yaml").write_text(yaml.safe_dump(deployment("web", replicas=1_000_000_000)))
    assert main(["run", "--config", str(config_for(tmp_path, tmp_path / "m")), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Deployment default/web asks for 1000000000 pods" in err


def test_a_simulated_run_keeps_no_error_budget_unless_asked(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    # [safety] error_budget = 0 stops a real cluster after its first breach; a simulated run ignores it.
    config = config_for(tmp_path, EXAMPLES / "storefront", "[safety]\nerror_budget = 0\n")
    assert main(["run", "--config", str(config), "--quiet", "--max-injections", "12", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["injections"] == 12 and "stopped" not in data and data["findings"]
    config = config_for(tmp_path, EXAMPLES / "storefront")
    config.write_text(config.read_text().replace("seed = 3\n", "seed = 3\nerror_budget = 0\n"))
    assert main(["run", "--config", str(config), "--quiet", "--max-injections", "12", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["injections"] < 12 and data["stopped"].startswith("error budget spent")
