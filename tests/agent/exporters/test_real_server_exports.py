"""End to end against a real Redmine 5 and a real Alertmanager 0.25 started by fixtures."""

from __future__ import annotations

import json
import random
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.config.exporters import AlertmanagerExport, ExportersSettings, RedmineExport
from agent.exporters import ExportQueue, build_exporters
from agent.findings import FindingStore, findings_from_result
from envs.faults import FaultKind
from tests.agent.findings.sample_results import result
from tests.servers.alertmanager import AlertmanagerServer
from tests.servers.redmine import RedmineServer, free_port

pytestmark = pytest.mark.servers
T0 = datetime.now(UTC).replace(microsecond=0)


def _get(server: RedmineServer, path: str) -> Any:
    req = urllib.request.Request(f"{server.url}{path}", headers={"X-Redmine-API-Key": server.api_key})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _issues_titled(server: RedmineServer, finding_id: str) -> list[dict[str, Any]]:
    issues = _get(server, f"/projects/{server.project}/issues.json?status_id=*&limit=100")["issues"]
    return [i for i in issues if finding_id in i["subject"]]


def _redmine(server: RedmineServer, url: str | None = None) -> ExportersSettings:
    return ExportersSettings(
        redmine=RedmineExport(url=url or server.url, project=server.project, api_key_env="REDMINE_API_KEY",
                              allow_insecure_http=True),
        retries=0,
    )


def _queue(store: FindingStore, settings: ExportersSettings, key: str) -> ExportQueue:
    exporters = build_exporters(
        settings, environ={"REDMINE_API_KEY": key}, sleep=lambda s: None, rng=random.Random(1)
    )
    return ExportQueue(store, exporters, backoff_s=1.0)


def test_redmine_one_issue_then_notes_across_a_restart(redmine_server: RedmineServer, tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite"
    settings = _redmine(redmine_server)
    first = findings_from_result(result(target="shop/Deployment/restart"), injection_index=0, seen_at=T0)[0]
    with FindingStore(path) as store:
        queue = _queue(store, settings, redmine_server.api_key)
        queue.record([first], T0)
        assert queue.drain_queue(T0).sent == 1
        queue.record([first], T0 + timedelta(minutes=1))
        assert queue.drain_queue(T0 + timedelta(minutes=1)).sent == 1
        ref = store.export_ref(first.signature, "redmine")
    with FindingStore(path) as reopened:
        queue = _queue(reopened, settings, redmine_server.api_key)
        queue.record([first], T0 + timedelta(minutes=2))
        assert queue.drain_queue(T0 + timedelta(minutes=2)).sent == 1
    [issue] = _issues_titled(redmine_server, first.id)
    assert ref is not None and str(issue["id"]) == ref.external_id
    full = _get(redmine_server, f"/issues/{issue['id']}.json?include=journals")["issue"]
    assert first.hypothesis in full["description"] and first.signature in full["description"]
    notes = [j["notes"] for j in full["journals"] if j.get("notes")]
    assert len(notes) == 2 and "seen 3 times" in notes[-1]


def test_redmine_failure_stays_queued_and_is_sent_once(redmine_server: RedmineServer, tmp_path: Path) -> None:
    f = findings_from_result(result(target="shop/Deployment/flaky"), injection_index=0, seen_at=T0)[0]
    with FindingStore(tmp_path / "f.sqlite") as store:
        down = _queue(
            store, _redmine(redmine_server, url=f"http://127.0.0.1:{free_port()}"), redmine_server.api_key
        )
        down.record([f], T0)
        report = down.drain_queue(T0)
        assert (report.sent, report.failed) == (0, 1)
        [entry] = store.queue(f.signature)
        assert entry.status == "failed" and "could not connect" in entry.last_error
        assert entry.next_attempt_at is not None and entry.next_attempt_at > T0
        up = _queue(store, _redmine(redmine_server), redmine_server.api_key)
        assert up.drain_queue(T0).sent == 0  # not due yet
        assert up.drain_queue(entry.next_attempt_at).sent == 1
        assert up.drain_queue(entry.next_attempt_at + timedelta(hours=1)).sent == 0
    assert len(_issues_titled(redmine_server, f.id)) == 1


def test_redmine_wrong_key_fails_without_naming_it(redmine_server: RedmineServer, tmp_path: Path) -> None:
    f = findings_from_result(result(target="shop/Deployment/denied"), injection_index=0, seen_at=T0)[0]
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = _queue(store, _redmine(redmine_server), "0" * 40)
        queue.record([f], T0)
        assert queue.drain_queue(T0).failed == 1
        [entry] = store.queue(f.signature)
        assert "answered 401" in entry.last_error and "0" * 40 not in entry.last_error


def test_alertmanager_alert_fires_once_and_recurrence_keeps_it(
    alertmanager_server: AlertmanagerServer, tmp_path: Path
) -> None:
    settings = ExportersSettings(
        alertmanager=AlertmanagerExport(url=alertmanager_server.url, resolve_after_s=600)
    )
    exporters = build_exporters(settings, sleep=lambda s: None)
    now = datetime.now(UTC)
    mild = findings_from_result(
        result(kind=FaultKind.NETWORK_LOSS, worst=0.97), injection_index=0, seen_at=now
    )[0]
    with FindingStore(tmp_path / "f.sqlite") as store:
        queue = ExportQueue(store, exporters)
        queue.record([mild], now)
        assert queue.drain_queue(now).sent == 1
        [alert] = alertmanager_server.alerts(signature=mild.signature)
        assert alert["labels"]["alertname"] == "ChaosAgentFinding"
        assert alert["labels"]["severity"] == mild.severity_label == "low"
        assert alert["status"]["state"] == "active"
        note = alertmanager_server.notifications.wait_for(
            lambda n: n["commonLabels"].get("signature") == mild.signature
        )
        assert (
            note["status"] == "firing" and note["alerts"][0]["annotations"]["hypothesis"] == mild.hypothesis
        )
        # the same finding again, now worse: still one active alert, under the new severity
        worse = findings_from_result(
            result(kind=FaultKind.NETWORK_LOSS, worst=0.1),
            injection_index=5,
            seen_at=now + timedelta(seconds=1),
        )[0]
        queue.record([worse], now + timedelta(seconds=1))
        assert queue.drain_queue(now + timedelta(seconds=1)).sent == 1
        active = [
            a
            for a in alertmanager_server.alerts(signature=mild.signature)
            if a["status"]["state"] == "active"
        ]
        assert [a["labels"]["severity"] for a in active] == ["critical"]
        ends = datetime.fromisoformat(active[0]["endsAt"].replace("Z", "+00:00"))
        assert timedelta(seconds=590) < ends - now < timedelta(seconds=620)
