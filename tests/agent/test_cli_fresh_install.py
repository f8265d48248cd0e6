"""What a new user meets first: the report's content and its missing charts, the optional extras, exports
on a plain run, ``config check`` catching what ``run`` would fail on, and ``--config`` after the verb."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from agent.audit import RecordKind
from agent.audit.records import parse_line
from agent.cli import build_parser, main
from agent.findings import FindingStore
from agent.report import signal_series

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def write_config(folder: Path, extra: str = "", error_budget: float = 1000) -> Path:
    path = folder / "config.toml"
    path.write_text(f"""
[cluster.simulated]
manifests = "{EXAMPLES / 'storefront'}"
seed = 5
[policy]
strategy = "anomaly_weighted"
[safety]
error_budget = {error_budget}
{extra}
""")
    return path


def journal_counts(path: Path) -> tuple[int, int]:
    """(intents, applied outcomes) in the audit journal: what the run really did."""
    records = [r for r in (parse_line(x) for x in path.read_bytes().split(b"\n")[:-1]) if r is not None]
    intents = sum(1 for r in records if r.kind is RecordKind.INTENT)
    applied = sum(1 for r in records if r.kind is RecordKind.OUTCOME and r.status == "applied")
    return intents, applied


def report_rows(markdown: str) -> dict[str, int]:
    """Finding id -> its Injection column."""
    return {line.split(" | ")[0].strip("| "): int(line.rstrip(" |").rsplit(" | ", 1)[1])
            for line in markdown.splitlines() if line.startswith("| F-")}


def test_the_report_counts_what_the_run_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, error_budget=2)
    run_json = tmp_path / "run.json"
    assert main(["run", "--config", str(config), "--max-injections", "40", "--report", str(run_json)]) == 0
    run_err = capsys.readouterr().err
    assert main(["report", "--config", str(config), "--out", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "report.md").read_text()

    intents, applied = journal_counts(tmp_path / "var" / "audit.jsonl")
    assert intents > 0 and f"- Injections: {intents} ({applied} applied)" in md
    burned = float(re.search(r"SLO budget burned: ([\d.]+) violation-minutes", md)[1])  # type: ignore[index]
    run = json.loads(run_json.read_text())
    assert run["stopped"].startswith("error budget spent"), "the guard spent the 2 minutes it was given"
    assert burned >= 2, "the report's budget is the one the guard spent"

    by_id = {f["id"]: f["injection_index"] for f in run["findings"]}
    assert report_rows(md) == by_id, "each finding's injection as the run numbered it"
    first_found = min(int(m[1]) for m in re.finditer(r"^\[\s*(\d+)/\d+\].*FOUND", run_err, re.M))
    assert f"- First finding: injection {first_found}" in md

    with FindingStore(tmp_path / "var" / "findings.sqlite") as store:
        experiments = store.experiments(store.latest_run())
    assert len(experiments) == intents and signal_series(experiments, "availability"), "the timeline has data"
    assert (tmp_path / "report" / "timeline.png").stat().st_size > 10_000


def test_without_matplotlib_the_report_is_written_without_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["run", "--config", str(config), "--max-injections", "5", "--quiet"]) == 0
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as in the runtime environment and the image
    monkeypatch.delitem(sys.modules, "agent.report.charts", raising=False)
    capsys.readouterr()
    assert main(["report", "--config", str(config), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "matplotlib is not installed" in err and "pip install" in err and "Traceback" not in err
    assert "Injections: 5 (" in (tmp_path / "r" / "report.md").read_text()
    assert "matplotlib is not installed" in (tmp_path / "r" / "report.html").read_text()
    assert not list((tmp_path / "r").glob("*.png"))


@pytest.mark.parametrize(("argv", "missing", "install"), [
    (["train", "--timesteps", "0", "--out", "OUT"], "torch", "scripts/bootstrap dev"),
    (["export-policy", "--checkpoint", "X.zip", "--out", "OUT"], "torch", "pip install torch==2.13.0 -e '.[train]'"),
    (["benchmark", "--seeds", "1", "--budget", "1", "--json", "OUT", "--plot", "p.png"], "matplotlib",
     "pip install -e '.[report]'"),
])
def test_commands_without_their_extras_say_what_to_install(argv: list[str], missing: str, install: str,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    out = tmp_path / "out"
    assert main([a.replace("OUT", str(out)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"needs {missing}, which is not installed" in err and install in err
    assert not out.exists(), "nothing is done before the check"


def test_plain_run_sends_one_ticket_per_weakness_at_the_end_and_says_so_at_the_start(
        tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(tmp_path, f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\n')
    run_json = tmp_path / "run.json"
    assert main(["run", "--config", str(config), "--max-injections", "15", "--quiet", "--report", str(run_json)]) == 0
    err = capsys.readouterr().err
    assert "one ticket per weakness to webhook at the end" in err
    found = {w["id"] for w in json.loads(run_json.read_text())["weaknesses"]}
    posted = {json.loads(r.data)["weakness"]["id"] for r, _ in httpserver.log}
    assert found and posted == found
    assert f"tickets: {len(found)} sent, 0 failed" in err


def test_plain_run_exports_findings_when_tickets_are_per_finding(tmp_path: Path, httpserver: HTTPServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(tmp_path, f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\n'
                                    '[weaknesses]\ntickets = "finding"\n')
    run_json = tmp_path / "run.json"
    assert main(["run", "--config", str(config), "--max-injections", "15", "--quiet", "--report", str(run_json)]) == 0
    err = capsys.readouterr().err
    assert "findings exported to webhook at the end" in err.splitlines()[0] + err
    found = {f["id"] for f in json.loads(run_json.read_text())["findings"]}
    posted = {json.loads(r.data)["finding"]["id"] for r, _ in httpserver.log}
    assert found and posted == found
    assert f"exports: {len(found)} sent, 0 failed" in err


@pytest.mark.parametrize(("extra", "files", "words"), [
    ('[exporters.github]\nrepository = "acme/shop"\ntoken_env = "CHAOS_TEST_UNSET_TOKEN"\n', {},
     "CHAOS_TEST_UNSET_TOKEN, which is not set"),
    ('[exporters.redmine]\nurl = "https://r.example.com"\nproject = "p"\napi_key_file = "missing.key"\n', {},
     "api_key_file"),
    ('[audit]\nkey_file = "audit.key"\n', {"audit.key": "short"}, "an audit key needs at least 32"),
    ('[exporters.webhook]\nurl = "https://hooks.example.com/x"\nsecret_env = "CHAOS_TEST_UNSET_KEY"\n', {},
     "CHAOS_TEST_UNSET_KEY, which is not set"),
])
def test_config_check_fails_where_run_would(extra: str, files: dict[str, str], words: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    config = write_config(tmp_path, extra)
    assert main(["config", "check", str(config)]) == 2
    check_err = capsys.readouterr().err
    assert words in check_err and check_err.count("\n") == 1
    assert main(["run", "--config", str(config), "--quiet", "--max-injections", "1"]) == 2
    assert capsys.readouterr().err == check_err, "config check reports exactly what run fails on"


def test_config_check_builds_the_twin_of_the_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "only-a-service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, "
        "ports: [{port: 80}]}\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[cluster.simulated]\nmanifests = "{tmp_path / "only-a-service.yaml"}"\n')
    assert main(["config", "check", str(config)]) == 2
    assert "holds no workload the twin can model" in capsys.readouterr().err
    assert main(["config", "check", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "cluster storefront" in out and "exporters none" in out


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
            ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, list[argparse.ArgumentParser]]]:
    """(verbs, leaf parser, the parsers above it) of every subcommand."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                below = _leaves(sub, (*path, name))
                found += [(p, leaf, [parser, *chain]) for p, leaf, chain in below] or [((*path, name), sub, [parser])]
    return found


def _required(parser: argparse.ArgumentParser) -> list[str]:
    args: list[str] = []
    for action in parser._actions:
        if not action.option_strings and action.dest not in ("help", "config") and action.nargs != "?" \
                and not isinstance(action, argparse._SubParsersAction):
            args.append("X")
        elif action.option_strings and action.required:
            args += [action.option_strings[0], "1" if action.type is int else "X"]
    return args


LEAVES = [leaf for leaf in _leaves(build_parser()) if any(
    "--config" in a.option_strings for p in (leaf[1], *leaf[2]) for a in p._actions)]


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: " ".join(leaf[0]))
def test_config_is_accepted_after_the_verb_of_every_subcommand(leaf: tuple[tuple[str, ...], argparse.ArgumentParser,
                                                                          list[argparse.ArgumentParser]]) -> None:
    verbs, parser, _ = leaf
    args = build_parser().parse_args([*verbs, *_required(parser), "--config", "mine.toml"])
    assert args.config == "mine.toml"


def test_the_subcommands_that_read_a_config_are_all_covered() -> None:
    assert {" ".join(v) for v, _, _ in LEAVES} >= {
        "run", "train", "halt", "resume", "findings list", "findings show", "report", "audit verify", "config check"}


def test_findings_list_takes_the_config_after_the_verb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["run", "--config", str(config), "--max-injections", "8", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["findings", "list", "--config", str(config)]) == 0
    assert "F-" in capsys.readouterr().out
