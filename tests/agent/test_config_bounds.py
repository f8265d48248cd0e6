"""Every number in the configuration is finite and inside a declared range.

The keys are found by walking the settings classes, so a numeric key added tomorrow is covered by
these tests the day it is added (and fails the first test until it declares its range).
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from agent.cli import main
from agent.config import Settings
from agent.config.parse import ParseContext, number_text, parse_section
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

REQUIRED: dict[str, dict[str, object]] = {
    "JiraExport": {"url": "https://x.atlassian.net", "project_key": "OPS", "email": "a@b.c", "token_env": "JIRA"},
    "GitHubExport": {"repository": "acme/shop", "token_env": "GH"},
    "RedmineExport": {"url": "https://redmine.example.com", "project": "p", "api_key_env": "RM"},
    "WebhookExport": {"url": "https://hooks.example.com/x"},
    "AlertmanagerExport": {"url": "http://alertmanager:9093"},
    "PromQLCheck": {"name": "up", "query": "up", "comparison": "<", "threshold": 1},
    "GameDaySettings": {"name": "tuesday", "cron": "0 10 * * tue"},
}
"""The smallest valid table of each settings class with required keys."""


@dataclasses.dataclass(frozen=True)
class NumericKey:
    path: tuple[str, ...]
    """Keys from the root; "[]" marks an array of tables (one table is written)."""
    cls: type
    field: dataclasses.Field[Any]
    kind: type
    container: str
    """"" for a number, "list" or "table" for a list or table of numbers."""

    @property
    def key(self) -> str:
        """As the error names it: the first table of an array is ``name[0]``."""
        return ".".join(self.path).replace(".[]", "[0]")

    def __str__(self) -> str:
        return self.key


def _settings_class(tp: Any) -> type | None:
    options = [a for a in get_args(tp) if a is not type(None)] if get_origin(tp) is not None else [tp]
    if get_origin(tp) is tuple:
        options = [get_args(tp)[0]]
    for option in options:
        if isinstance(option, type) and dataclasses.is_dataclass(option):
            return option
    return None


def _number_kind(tp: Any) -> tuple[type, str] | None:
    origin, args = get_origin(tp), get_args(tp)
    if tp in (int, float):
        return tp, ""
    if origin is tuple and args and args[0] in (int, float):
        return args[0], "list"
    if origin is dict and args[1] in (int, float):
        return args[1], "table"
    options = [a for a in args if a is not type(None)]
    if origin is not None and len(options) == 1 and options[0] in (int, float):
        return options[0], ""
    return None


def numeric_keys(cls: type = Settings, path: tuple[str, ...] = ()) -> list[NumericKey]:
    found: list[NumericKey] = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = hints[f.name]
        nested = _settings_class(tp)
        if nested is not None:
            found += numeric_keys(nested, (*path, f.name, *(["[]"] if get_origin(tp) is tuple else [])))
            continue
        number = _number_kind(tp)
        if number is not None:
            found.append(NumericKey((*path, f.name), cls, f, *number))
    return found


KEYS = numeric_keys()


def raw_with(key: NumericKey, value: object) -> dict[str, Any]:
    """A whole configuration (as parsed TOML) that is valid except for ``key`` = ``value``."""
    root: dict[str, Any] = {}
    table, cls = root, Settings
    for i, part in enumerate(key.path[:-1]):
        if part == "[]":
            continue
        hints = get_type_hints(cls)
        cls = _settings_class(hints[part])  # type: ignore[assignment]
        child: dict[str, Any] = dict(REQUIRED.get(cls.__name__, {}))
        is_array = i + 1 < len(key.path) - 1 and key.path[i + 1] == "[]"
        table[part] = [child] if is_array else child
        table = child
    name = key.path[-1]
    table[name] = {"list": [value], "table": {"cpu": value}}.get(key.container, value)
    return root


def test_there_are_numeric_keys_to_check() -> None:
    assert {"safety.error_budget", "experiment.fault_duration_s", "agent.max_injections",
            "prometheus.anomaly.weights", "schedule.game_days[0].budget"} <= {k.key for k in KEYS}


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_every_numeric_key_declares_its_range(key: NumericKey) -> None:
    lo, hi = key.field.metadata.get("min"), key.field.metadata.get("max")
    assert lo is not None and hi is not None, f"{key.key} needs setting(minimum=..., maximum=...)"
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi


@pytest.mark.parametrize("key", KEYS, ids=str)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e20, -1e20, 10**20, -(10**20)],
                         ids=["nan", "inf", "-inf", "1e20", "-1e20", "int 10**20", "int -10**20"])
def test_every_numeric_key_refuses_nan_infinity_and_absurd_values(key: NumericKey, bad: float) -> None:
    with pytest.raises(ConfigError) as info:
        parse_section(Settings, raw_with(key, bad), "", ParseContext(Path("/nonexistent")))
    message = str(info.value)
    assert key.key in message, message
    assert (repr(bad) in message or repr(float(bad)) in message) and "\n" not in message
    lo, hi = key.field.metadata["min"], key.field.metadata["max"]
    allowed = f"from {number_text(lo)} to {number_text(hi)}"
    assert allowed in message, f"the allowed range is not named: {message}"


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_every_numeric_key_accepts_its_own_bounds(key: NumericKey) -> None:
    for edge in (key.field.metadata["min"], key.field.metadata["max"]):
        value = int(edge) if key.kind is int else float(edge)
        try:
            parse_section(Settings, raw_with(key, value), "", ParseContext(Path("/nonexistent")))
        except ConfigError as e:  # a cross-key rule (such as the anomaly windows) may refuse an edge
            assert not str(e).startswith(f"{key.key} must be "), f"{key.key} = {value} is its own bound: {e}"


@pytest.mark.parametrize("text, key", [
    ("[safety]\nerror_budget = nan\n", "safety.error_budget"),
    ("[experiment]\nfault_duration_s = inf\n", "experiment.fault_duration_s"),
    ("[agent]\nmax_injections = 1e20\n", "agent.max_injections"),
    ("[agent]\nmax_injections = 100000000000000000000\n", "agent.max_injections"),
])
def test_config_check_refuses_them_in_one_line(text: str, key: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chaos-agent: error: ") and key in err and "\n" not in err
    assert " from " in err and " to " in err


def test_a_nan_error_budget_no_longer_runs_every_injection(tmp_path: Path) -> None:
    """The reported symptom: budget = nan switched the error-budget guard off and ran all 25."""
    path = tmp_path / "config.toml"
    path.write_text("[safety]\nerror_budget = nan\n[audit]\npath = 'a.jsonl'\n[findings]\npath = 'f.sqlite'\n")
    run = subprocess.run([sys.executable, "-m", "agent.cli", "run", "--config", str(path), "--max-injections", "25",
                          "--quiet"], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 2 and "safety.error_budget" in run.stderr
    assert not (tmp_path / "a.jsonl").exists(), "nothing may be journalled (or injected) with a refused config"
