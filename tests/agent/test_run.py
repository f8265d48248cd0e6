"""`chaos-agent run` end to end on the embedded simulator: findings, report, journal, dry run, kill switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.audit import open_intents, verify
from agent.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def write_config(tmp_path: Path, extra: str = "", strategy: str = "anomaly_weighted") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[cluster.simulated]
manifests = "{EXAMPLES / 'storefront'}"
seed = 5
[policy]
strategy = "{strategy}"
[safety]
error_budget = 1000
{extra}
""")
    return path


def run(config: Path, *args: str) -> int:
    return main(["run", "--config", str(config), "--quiet", *args])


def test_run_reports_findings_with_evidence_and_a_verified_journal(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    report = tmp_path / "report.json"
    assert run(config, "--max-injections", "25", "--report", str(report)) == 0
    data = json.loads(report.read_text())
    assert data["injections"] == 25 and data["findings"]
    for f in data["findings"]:
        assert list(f)[:8] == ["id", "fault", "target", "affected", "violation", "severity", "evidence",
                               "injection_index"]
        assert f["violation"] in ("availability", "latency", "training_progress", "data_loss", "undetected_drift",
                                  "data_quality")
        assert f["evidence"]["worst"] != f["evidence"]["before"]
        assert set(f["fault"]) >= {"family", "kind", "intensity"}
    out = capsys.readouterr().out
    assert "25 injections" in out and data["findings"][0]["id"] in out
    journal = tmp_path / "var" / "audit.jsonl"
    assert verify(journal).ok
    assert open_intents(journal) == [], "every intent was reverted or closed"


def test_dry_run_plans_and_journals_but_injects_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[safety]\n' if False else "")
    config.write_text(config.read_text().replace("[safety]\n", '[safety]\ndry_run = "plan"\n'))
    report = tmp_path / "r.json"
    assert run(config, "--max-injections", "10", "--report", str(report)) == 0
    assert json.loads(report.read_text())["findings"] == []
    lines = [json.loads(x) for x in (tmp_path / "var" / "audit.jsonl").read_text().splitlines()]
    outcomes = [r for r in lines if r.get("kind") == "outcome"]
    assert len(outcomes) == 10 and {r["status"] for r in outcomes} == {"dry_run"}


def test_the_kill_switch_stops_the_run_before_any_injection(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["halt", "--config", str(config), "--reason", "test"]) == 0
    assert run(config, "--max-injections", "10") == 0
    assert "halted by the kill switch" in capsys.readouterr().out
    assert main(["resume", "--config", str(config)]) == 0
    assert run(config, "--max-injections", "3") == 0
    assert "3 injections" in capsys.readouterr().out


def test_a_tampered_journal_fails_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert run(config, "--max-injections", "3") == 0
    journal = tmp_path / "var" / "audit.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    assert '"kind":"outcome"' in lines[2]
    lines[2] = lines[2].replace('"kind":"outcome"', '"kind":"revert"', 1)
    journal.write_text("".join(lines))
    assert main(["audit", "verify", str(journal)]) == 1
    assert "line 3" in capsys.readouterr().out


def test_user_mistakes_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[safety]\nmax_concurrent_faults = 0\n')
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err and "safety.max_concurrent_faults" in err


@pytest.mark.parametrize(("flags", "named"), [
    (["--timesteps", "-5"], "--timesteps"), (["--timesteps", "0", "--warm-start", "-1"], "--warm-start"),
    (["--timesteps", "0", "--dagger-rounds", "-2"], "--dagger-rounds"), (["--timesteps", "0", "--budget", "0"],
                                                                         "--budget"),
    (["--timesteps", "0", "--learning-rate", "0"], "--learning-rate"),
])
def test_bad_training_numbers_are_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          flags: list[str], named: str) -> None:
    out = tmp_path / "policy"
    assert main(["train", "--config", "config.toml", *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()
