"""The game-day report: files, real PNGs with content, HTML linking them, numbers matching the experiments.

Injections are numbered from 1, as the agent's loop and progress lines number them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.image
import numpy as np

from agent.findings import ExperimentRecord, Finding, FindingStore, findings_from_result
from agent.report import discovery_series, signal_series, summarise, write_report
from envs.faults import Fault, FaultKind
from tests.agent.findings.sample_results import FRONTEND, result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _game_day(tmp_path: Path) -> tuple[list[Finding], list[ExperimentRecord]]:
    """Six injections: findings at 2 and 4, a repeat of the first at 5, three quiet ones."""
    results = [
        result(started=0, breaches=False),
        result(started=600, worst=0.3, with_latency=True),
        result(started=1200, kind=FaultKind.NETWORK_LATENCY, breaches=False),
        result(
            started=1800,
            kind=FaultKind.DATA_DRIFT,
            target="ml/Deployment/features",
            worst=0.9,
            held=(Fault(FaultKind.NODE_DRAIN, 1, "Node/n1"),),
        ),
        result(started=2400, worst=0.5, with_latency=True),
        result(started=3000, kind=FaultKind.CPU_STRESS, breaches=False),
    ]
    records = []
    with FindingStore(tmp_path / "f.sqlite") as store:
        for number, r in enumerate(results, start=1):
            found = findings_from_result(r, injection_index=number, seen_at=T0)
            for f in found:
                store.upsert(f)
            records.append(ExperimentRecord.of(r, injection=number, signatures=[f.signature for f in found]))
        return store.all(), records


def test_discovery_series_counts_first_sightings() -> None:
    assert discovery_series([3, 5], 6) == [0, 0, 1, 1, 2, 2]  # first seen at injections 3 and 5
    assert discovery_series([1], 2) == [1, 1] and discovery_series([], 3) == [0, 0, 0]


def test_signal_series_follows_the_samples() -> None:
    rs = [ExperimentRecord.of(result(started=0), injection=1), ExperimentRecord.of(result(started=600), injection=2)]
    series = signal_series(rs, "availability")[FRONTEND]
    assert [t for t, _ in series] == sorted(t for t, _ in series) and len(series) == 10
    assert (15.0, 0.4) in series


def test_report_files_pictures_and_numbers(tmp_path: Path) -> None:
    findings, results = _game_day(tmp_path)
    assert len(findings) == 3  # availability and latency at #2 (repeated at #5), availability at #4
    paths = write_report(findings, results, tmp_path / "report", generated_at=T0)
    assert paths.discovery_png is not None and paths.timeline_png is not None and not paths.charts_note
    for p in (paths.markdown, paths.html, paths.findings_json, paths.discovery_png, paths.timeline_png):
        assert p.exists() and p.stat().st_size > 0
    for png in (paths.discovery_png, paths.timeline_png):
        assert png.read_bytes()[:8] == PNG_MAGIC
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400
        assert float(np.std(pixels[..., :3])) > 0.05, "the picture is not blank"
        assert len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) > 20

    page = paths.html.read_text()
    assert set(re.findall(r'<img src="([^"]+)"', page)) == {"discovery.png", "timeline.png"}
    assert re.search(r'id="distinct-findings">3<', page) and re.search(r'id="injections">6<', page)
    for f in findings:
        assert f.id in page and f.id in paths.markdown.read_text()
    assert page.count("<tr class=") == 3

    md = paths.markdown.read_text()
    summary = summarise(findings, results)
    assert "- Distinct findings: 3" in md and "- Injections: 6 (6 applied)" in md
    assert "- First finding: injection 2" in md
    rows = {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").rsplit(" | ", 1)[1] for line in md.splitlines()
            if line.startswith("| F-")}
    assert sorted(rows.values()) == ["2", "2", "4"], "each finding's injection, numbered as the run numbered it"
    assert f"critical {summary.by_severity['critical']}" in md
    assert "(discovery.png)" in md and "(timeline.png)" in md

    data = json.loads(paths.findings_json.read_text())
    assert data["discovery"] == [0, 2, 2, 3, 3, 3]
    assert data["summary"]["applied"] == 6 and data["summary"]["injections"] == 6
    assert [f["id"] for f in data["findings"]] == [f.id for f in sorted(findings, key=lambda f: -f.severity)]
    repeated = next(f for f in data["findings"] if f["reproductions"] == 2)
    assert repeated["injection"] == 2 and repeated["last_injection_index"] == 5
    assert data["summary"]["budget_burned_min"] == round(sum(r.budget_burned_s for r in results) / 60, 2)


def test_report_without_findings_still_draws(tmp_path: Path) -> None:
    paths = write_report([], [ExperimentRecord.of(result(breaches=False), injection=1)], tmp_path)
    assert paths.discovery_png is not None and paths.discovery_png.read_bytes()[:8] == PNG_MAGIC
    assert "- Distinct findings: 0" in paths.markdown.read_text()
    assert "- First finding: none" in paths.markdown.read_text()
