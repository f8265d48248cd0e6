"""Two game days, a fix applied to the manifests, a retest, the fix undone, a retest: what every exporter follows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_config
from agent.weaknesses.store import WeaknessStore
from tests.agent.weaknesses.weak_shop import apply_fix, config, weak_shop


def weakness_lifecycle(tmp_path: Path, exporters_toml: str, capsys: pytest.CaptureFixture[str],
                       check: dict[str, object]) -> str:
    """Runs the lifecycle; ``check[step]()`` is called after each step (game-day-1, game-day-2, resolved,
    reopened) with the weakness id. Returns the weakness id."""
    manifests = weak_shop(tmp_path / "manifests")
    weak = tmp_path / "weak-copy"
    shutil.copytree(manifests, weak)
    cfg = config(tmp_path, manifests, extra=exporters_toml)
    assert main(["run", "--config", str(cfg), "--quiet"]) == 0
    with WeaknessStore(load_config(cfg).findings.path) as store:
        [record] = store.all()
    wid = record.id
    check["game-day-1"](wid)  # type: ignore[operator]
    assert main(["run", "--config", str(cfg), "--quiet"]) == 0
    check["game-day-2"](wid)  # type: ignore[operator]
    capsys.readouterr()
    assert main(["weaknesses", "--config", str(cfg), "show", wid, "--patch"]) == 0
    apply_fix(manifests, capsys.readouterr().out)
    assert main(["retest", "--config", str(cfg)]) == 0
    assert f"{wid}  resolved" in capsys.readouterr().out
    check["resolved"](wid)  # type: ignore[operator]
    shutil.rmtree(manifests)
    shutil.copytree(weak, manifests)
    assert main(["retest", "--config", str(cfg)]) == 0
    assert f"{wid}  open" in capsys.readouterr().out
    check["reopened"](wid)  # type: ignore[operator]
    with WeaknessStore(load_config(cfg).findings.path) as store:
        assert [e.status for e in store.events(wid)] == ["sent"] * len(store.events(wid))
    return wid
