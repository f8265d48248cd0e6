"""The benchmark runner end to end on a few seeds: every metric of docs/benchmark-protocol.md, the plot and
the tables."""

from __future__ import annotations

import json
from pathlib import Path

from agent.cli import main
from policies.benchmark import EpisodeTrace, episode_metrics


def test_benchmark_command_writes_json_plot_and_tables(tmp_path: Path) -> None:
    out, png, md = tmp_path / "b.json", tmp_path / "b.png", tmp_path / "b.md"
    assert main(["benchmark", "--seeds", "2", "--budget", "6", "--json", str(out), "--plot", str(png),
                 "--markdown", str(md), "--strategies", "uniform_random,round_robin,rl"]) == 0
    report = json.loads(out.read_text())
    assert set(report["strategies"]) == {"uniform_random", "round_robin", "rl"}
    for s in report["strategies"].values():
        for key in ("auc_ratio", "t1", "t_half", "t_all", "recall_at_budget", "false_findings", "blast_cost"):
            assert {"median", "iqr"} <= set(s[key])
        assert len(s["median_curve"]) == 6 and s["recall_by_kind"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| rl |" in md.read_text()


def test_held_out_sets_by_size_and_by_family(tmp_path: Path) -> None:
    from envs.scenarios import generate_cluster
    from envs.scenarios.params import HELD_OUT, HELD_OUT_LARGE

    normal, large = generate_cluster(10_000, HELD_OUT), generate_cluster(10_000, HELD_OUT_LARGE)
    assert normal.family == large.family
    assert len(large.spec.workloads) > 1.5 * len(normal.spec.workloads)
    assert HELD_OUT_LARGE.name_pool == HELD_OUT.name_pool == "held_out"
    out = tmp_path / "family.json"
    assert main(["benchmark", "--seeds", "1", "--budget", "3", "--json", str(out), "--clusters",
                 "held-out-streaming", "--strategies", "uniform_random", "--key-cache", str(tmp_path / "keys")]) == 0
    report = json.loads(out.read_text())
    assert report["clusters"] == "held-out-streaming"
    assert report["held_out_scenarios"][0]["family"] == "streaming" and report["held_out_scenarios"][0]["k"] > 0
    assert list((tmp_path / "keys").glob("streaming-*.json")), "the key is kept for the next run"
    assert main(["benchmark", "--seeds", "1", "--json", str(out), "--clusters", "huge"]) == 2
    assert main(["benchmark", "--seeds", "1", "--json", str(out), "--budget", "10", "--game-days", "3"]) == 2


def test_episode_metrics_follow_the_definitions() -> None:
    tr = EpisodeTrace("x", 0, k=4, kinds={}, discovered=[1, 1, 2, 3, 4, 4])
    m = episode_metrics(tr, budget=6)
    oracle = 1 + 2 + 3 + 4 + 4 + 4
    assert m["auc_ratio"] == (1 + 1 + 2 + 3 + 4 + 4) / oracle
    assert (m["t1"], m["t_half"], m["t_all"], m["recall_at_budget"]) == (1, 3, 5, 1.0)
    assert not m["t_all_capped"]
    short = episode_metrics(EpisodeTrace("x", 0, k=4, kinds={}, discovered=[0, 1]), budget=6)
    assert short["t_all"] == 6 and short["t_all_capped"] and short["recall_at_budget"] == 0.25


def test_two_exported_policies_side_by_side_over_three_game_days(tmp_path: Path) -> None:
    from policies.runtime import DEFAULT_POLICY_DIR

    out = tmp_path / "compare.json"
    common = ["benchmark", "--seeds", "1", "--json", str(out), "--clusters", "held-out-streaming",
              "--key-cache", str(tmp_path / "keys")]
    assert main([*common, "--budget", "6", "--game-days", "3", "--strategies", "rl",
                 "--compare", f"again={DEFAULT_POLICY_DIR}"]) == 0
    report = json.loads(out.read_text())
    assert set(report["strategies"]) == {"rl", "again"} and report["game_days"] == 3
    assert report["policies"] == {"again": str(DEFAULT_POLICY_DIR)}
    for s in report["strategies"].values():
        assert len(s["median_curve"]) == 6 and s["max_fruitless"] <= 3
    assert main([*common, "--compare", "nameless"]) == 2
    assert main([*common, "--compare", f"empty={tmp_path}"]) == 2
