"""One ticket per weakness in Jira and GitHub (servers that validate every body against the vendor's schema) and a
webhook: opened by the first game day, commented by the second, resolved by a retest after the fix, reopened."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.agent.exporters.vendor_fakes import FakeGitHub, FakeJira
from tests.agent.weaknesses.ticket_flow import weakness_lifecycle

GH_TOKEN = "ghp_" + "T0kenValue9" * 3
JIRA_TOKEN = "ATATT3xFfGF0" + "SecretPart7" * 3


def test_github_one_issue_per_weakness_closed_and_reopened(
        httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
    fake = FakeGitHub(httpserver, repository="acme/shop", token=GH_TOKEN)
    toml = (f'[exporters.github]\nrepository = "acme/shop"\ntoken_env = "GH_TOKEN"\napi_url = "{fake.url}"\n'
            "allow_insecure_http = true\n")

    def issue(wid: str) -> int:
        [(number, body)] = list(fake.issues.items())
        assert wid in body["title"] and "Patch to the manifests" in body["body"]
        return number

    def comments(n: int) -> list[str]:
        return [c for _, c in fake.comments][:n]

    weakness_lifecycle(tmp_path, toml, capsys, {
        "game-day-1": lambda wid: issue(wid) and fake.comments == [],
        "game-day-2": lambda wid: (issue(wid), len(fake.comments) == 1 and "Reproduced again" in comments(1)[0]),
        "resolved": lambda wid: _expect(fake.states[issue(wid)] == "closed" and "Resolved" in fake.comments[-1][1]),
        "reopened": lambda wid: _expect(fake.states[issue(wid)] == "open" and "Reopened" in fake.comments[-1][1]),
    })
    assert len(fake.issues) == 1 and len(fake.comments) == 3
    assert httpserver.log and all(r.status_code < 300 for _, r in httpserver.log), "every body met the schema"


def test_jira_one_issue_per_weakness_moved_to_done_and_back(
        httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    fake = FakeJira(httpserver, email="sre@example.com", token=JIRA_TOKEN)
    toml = (f'[exporters.jira]\nurl = "{fake.url}"\nproject_key = "OPS"\nemail = "sre@example.com"\n'
            'token_env = "JIRA_TOKEN"\nallow_insecure_http = true\n')

    def key(wid: str) -> str:
        [(k, body)] = list(fake.issues.items())
        assert wid in body["fields"]["summary"]
        return k

    weakness_lifecycle(tmp_path, toml, capsys, {
        "game-day-1": lambda wid: _expect(bool(key(wid)) and fake.comments == []),
        "game-day-2": lambda wid: _expect(len(fake.comments) == 1),
        "resolved": lambda wid: _expect(fake.categories[key(wid)] == "done" and len(fake.comments) == 2),
        "reopened": lambda wid: _expect(fake.categories[key(wid)] == "new" and len(fake.comments) == 3),
    })
    assert len(fake.issues) == 1
    assert all(r.status_code < 300 for _, r in httpserver.log), "every body met the schema"


def test_webhook_gets_every_event_of_the_weakness_signed(
        httpserver: HTTPServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_KEY", "s3cret-hook-key")
    got: list[tuple[dict[str, Any], str]] = []

    def receive(request: Any) -> Any:
        from werkzeug import Response

        body = request.get_data()
        got.append((json.loads(body), request.headers.get("X-Chaos-Agent-Signature", "")))
        expected = "sha256=" + hmac.new(b"s3cret-hook-key", body, hashlib.sha256).hexdigest()
        return Response("", 200 if request.headers.get("X-Chaos-Agent-Signature") == expected else 401)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    toml = f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\nsecret_env = "HOOK_KEY"\n'
    events: list[str] = []
    wid = weakness_lifecycle(tmp_path, toml, capsys, {
        step: (lambda wid: events.append(got[-1][0]["event"])) for step in
        ("game-day-1", "game-day-2", "resolved", "reopened")})
    assert events == ["weakness.opened", "weakness.reproduced", "weakness.resolved", "weakness.reopened"]
    assert all(body["weakness"]["id"] == wid for body, _ in got)
    assert all(body["weakness"]["remediation"]["verified"] for body, _ in got)


def _expect(ok: bool) -> bool:
    assert ok
    return ok
