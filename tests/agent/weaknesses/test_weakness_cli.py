"""The agent's weaknesses end to end on the twin: a run leads with them, the JSON report carries them, the CLI shows
them with their fix, a retest resolves one once its fix is applied to the manifests and reopens it when undone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.cli import main
from tests.agent.weaknesses.weak_shop import CART, ROOT, apply_fix, config, weak_shop

REPORT_KEYS = ["id", "title", "kind", "targets", "severity", "findings", "remediation"]


def _run(cfg: Path, report: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    assert main(["run", "--config", str(cfg), "--report", str(report), "--quiet", *extra]) == 0
    return dict(json.loads(report.read_text()))


def test_a_run_reports_the_weakness_with_its_findings_and_a_verified_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, weak_shop(tmp_path / "manifests"))
    data = _run(cfg, tmp_path / "report.json")
    [w] = data["weaknesses"]
    assert list(w)[: len(REPORT_KEYS)] == REPORT_KEYS
    assert w["kind"] == "single_replica_on_path" and CART in w["targets"]
    assert set(w["findings"]) <= {f["id"] for f in data["findings"]} and w["findings"]
    assert w["remediation"]["verified"] is True and "replicas:" in w["remediation"]["patch"]
    out = capsys.readouterr().out
    assert out.index("Weaknesses (root causes") < out.index("Findings (the evidence)")
    assert w["id"] in out and "1 weaknesses" in out


def test_weaknesses_list_show_and_patch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, weak_shop(tmp_path / "manifests"))
    wid = _run(cfg, tmp_path / "r.json")["weaknesses"][0]["id"]
    capsys.readouterr()
    assert main(["weaknesses", "--config", str(cfg), "list"]) == 0
    assert wid in capsys.readouterr().out
    assert main(["weaknesses", "--config", str(cfg), "show", wid[:6]]) == 0
    shown = capsys.readouterr().out
    assert "Why" in shown and "Fix" in shown and "verified in the twin" in shown and "Evidence" in shown
    assert main(["weaknesses", "--config", str(cfg), "show", wid, "--patch"]) == 0
    assert capsys.readouterr().out.startswith("# patch shop/Deployment/cart")
    assert main(["weaknesses", "--config", str(cfg), "show", "W-nope"]) == 2
    assert "no single weakness matches 'W-nope'" in capsys.readouterr().err


def test_retest_resolves_after_the_fix_and_reopens_when_it_is_undone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = weak_shop(tmp_path / "manifests")
    weak = tmp_path / "weak-copy"
    shutil.copytree(manifests, weak)
    cfg = config(tmp_path, manifests)
    wid = _run(cfg, tmp_path / "r.json")["weaknesses"][0]["id"]
    assert main(["retest", "--config", str(cfg)]) == 0
    assert f"{wid}  open      reproduces" in capsys.readouterr().out
    capsys.readouterr()
    assert main(["weaknesses", "--config", str(cfg), "show", wid, "--patch"]) == 0
    apply_fix(manifests, capsys.readouterr().out)
    assert main(["retest", "--config", str(cfg)]) == 0
    assert f"{wid}  resolved  no longer reproduces" in capsys.readouterr().out
    assert main(["weaknesses", "--config", str(cfg), "list", "--status", "resolved"]) == 0
    assert wid in capsys.readouterr().out
    shutil.rmtree(manifests)
    shutil.copytree(weak, manifests)  # the fix is undone
    assert main(["retest", "--config", str(cfg)]) == 0
    assert f"{wid}  open      reproduces" in capsys.readouterr().out


@pytest.mark.parametrize("shape", ["shop", "ml", "zones"])
def test_a_game_day_on_a_robust_cluster_reports_no_weakness(shape: str, tmp_path: Path) -> None:
    manifests = ROOT / "examples" / "manifests" / "robust" / shape
    cfg = config(tmp_path, manifests, strategy="rl")
    data = _run(cfg, tmp_path / "r.json", "--max-injections", "60")
    assert data["injections"] == 60
    assert data["weaknesses"] == [], [w["title"] for w in data["weaknesses"]]
    beyond = [f for f in data["findings"] if f["id"] not in {i["finding"] for i in data["impact"]}]
    assert beyond == [], "every finding on a robust cluster comes from a fault beyond the design basis"


def test_the_game_day_report_leads_with_weaknesses_then_the_impact_then_the_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, weak_shop(tmp_path / "manifests"))
    data = _run(cfg, tmp_path / "r.json", "--max-injections", "20")
    [w] = data["weaknesses"]
    assert main(["report", "--config", str(cfg), "--out", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert md.index("## Weaknesses") < md.index("## Beyond the design basis") < md.index("## Findings")
    assert w["id"] in md and "```yaml" in md and "verified in the twin" in md
    for impact in data["impact"]:
        assert impact["finding"] in md.split("## Beyond the design basis")[1].split("## Findings")[0]
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<h2>Weaknesses</h2>" in page and w["id"] in page
    saved = json.loads((tmp_path / "report" / "findings.json").read_text())
    assert [x["id"] for x in saved["weaknesses"]] == [w["id"]]


def test_a_fix_whose_verification_was_cut_short_is_verified_at_the_next_update(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.config import load_config
    from agent.findings import FindingStore
    from agent.weaknesses.session import after_game_day
    from agent.weaknesses.store import WeaknessStore
    from envs.twin import load_manifests
    from envs.weaknesses.verify import INTERRUPTED

    manifests = weak_shop(tmp_path / "manifests")
    cfg = config(tmp_path, manifests)
    _run(cfg, tmp_path / "r.json")
    config_ = load_config(cfg)
    with WeaknessStore(config_.findings.path) as store:  # forget what the run recorded
        store._db.executescript("DELETE FROM weakness_events; DELETE FROM weaknesses;")
    spec = load_manifests(manifests)
    with FindingStore(config_.findings.path) as findings:
        cut = after_game_day(spec=spec, config=config_, findings=findings, run_findings=findings.all(), exporters={},
                             now=datetime.now(UTC), should_stop=lambda: True)
        [first] = cut.shown
        assert first.remedy is not None and not first.remedy.verified and first.remedy.detail == INTERRUPTED
        again = after_game_day(spec=spec, config=config_, findings=findings, run_findings=[], exporters={},
                               now=datetime.now(UTC))
    [record] = again.update.records
    assert record.remedy is not None and record.remedy.verified
