"""One ticket per weakness on a real Redmine 5 and one alert per weakness on a real Alertmanager 0.25: opened by
the first game day, commented on by the second, resolved by a retest once the fix is in the manifests, reopened
when the fix is undone."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.agent.weaknesses.ticket_flow import weakness_lifecycle
from tests.servers.alertmanager import AlertmanagerServer
from tests.servers.redmine import RedmineServer

pytestmark = pytest.mark.servers


def _get(server: RedmineServer, path: str) -> Any:
    req = urllib.request.Request(f"{server.url}{path}", headers={"X-Redmine-API-Key": server.api_key})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_redmine_one_issue_per_weakness_across_two_game_days_resolved_by_a_retest(
        redmine_server: RedmineServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDMINE_API_KEY", redmine_server.api_key)
    toml = (f'[exporters.redmine]\nurl = "{redmine_server.url}"\nproject = "{redmine_server.project}"\n'
            'api_key_env = "REDMINE_API_KEY"\nallow_insecure_http = true\n')

    def issue(wid: str) -> dict[str, Any]:
        issues = _get(redmine_server, f"/projects/{redmine_server.project}/issues.json?status_id=*&limit=100")
        mine = [i for i in issues["issues"] if wid in i["subject"]]
        assert len(mine) == 1, f"one issue per weakness, got {len(mine)}"
        return dict(_get(redmine_server, f"/issues/{mine[0]['id']}.json?include=journals")["issue"])

    def notes(wid: str) -> list[str]:
        return [j["notes"] for j in issue(wid)["journals"] if j.get("notes")]

    def check(step: str) -> Any:
        def run(wid: str) -> None:
            found = issue(wid)
            if step == "game-day-1":
                assert "Patch to the manifests" in found["description"] and notes(wid) == []
                assert found["status"]["name"] == "New"
            elif step == "game-day-2":
                assert len(notes(wid)) == 1 and notes(wid)[0].startswith("Reproduced again")
            elif step == "resolved":
                assert found["status"]["name"] == "Resolved" and notes(wid)[-1].startswith("Resolved")
            else:
                assert found["status"]["name"] == "New" and notes(wid)[-1].startswith("Reopened")
        return run

    weakness_lifecycle(tmp_path, toml, capsys, {s: check(s) for s in
                                                ("game-day-1", "game-day-2", "resolved", "reopened")})


def test_alertmanager_one_alert_per_weakness_that_ends_when_resolved(
        alertmanager_server: AlertmanagerServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = f'[exporters.alertmanager]\nurl = "{alertmanager_server.url}"\nresolve_after_s = 600\n'

    def active(wid: str) -> list[dict[str, Any]]:
        return [a for a in alertmanager_server.alerts(weakness_id=wid) if a["status"]["state"] == "active"]

    def firing(wid: str) -> None:
        [alert] = active(wid)
        assert alert["labels"]["kind"] == "single_replica_on_path"

    def ended(wid: str) -> None:
        assert active(wid) == []

    weakness_lifecycle(tmp_path, toml, capsys,
                       {"game-day-1": firing, "game-day-2": firing, "resolved": ended, "reopened": firing})
