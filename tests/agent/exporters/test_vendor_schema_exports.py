"""Jira and GitHub exporters against local servers that validate every body against the vendors' schemas."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from agent.config.exporters import ExportersSettings, GitHubExport, JiraExport
from agent.exporters import ExportQueue, build_exporters
from agent.exporters.jira import adf_description
from agent.findings import FindingStore, findings_from_result
from tests.agent.exporters.vendor_fakes import ADF, GITHUB_CREATE, FakeGitHub, FakeJira, problems
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GH_TOKEN = "ghp_" + "T0kenValue9" * 3
JIRA_TOKEN = "ATATT3xFfGF0" + "SecretPart7" * 3


def _github(httpserver: HTTPServer) -> tuple[FakeGitHub, ExportersSettings, dict[str, str]]:
    fake = FakeGitHub(httpserver, repository="acme/shop", token=GH_TOKEN)
    settings = ExportersSettings(
        github=GitHubExport(repository="acme/shop", token_env="GH_TOKEN", api_url=fake.url, allow_insecure_http=True)
    )
    return fake, settings, {"GH_TOKEN": GH_TOKEN}


def _jira(httpserver: HTTPServer) -> tuple[FakeJira, ExportersSettings, dict[str, str]]:
    fake = FakeJira(httpserver, email="sre@example.com", token=JIRA_TOKEN)
    settings = ExportersSettings(
        jira=JiraExport(url=fake.url, project_key="OPS", email="sre@example.com", token_env="JIRA_TOKEN",
                       allow_insecure_http=True)
    )
    return fake, settings, {"JIRA_TOKEN": JIRA_TOKEN}


def _counts(fake: Any) -> tuple[int, int]:
    return len(fake.issues), len(fake.comments)


@pytest.mark.parametrize("vendor", [_github, _jira], ids=["github", "jira"])
def test_export_twice_then_restart_gives_one_ticket_and_comments(
    vendor: Any, httpserver: HTTPServer, tmp_path: Path
) -> None:
    fake, settings, env = vendor(httpserver)
    path = tmp_path / "findings.sqlite"
    exporters = build_exporters(settings, environ=env, sleep=lambda s: None, rng=random.Random(0))
    with FindingStore(path) as store:
        queue = ExportQueue(store, exporters)
        queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        assert queue.drain_queue(T0).sent == 1
        assert _counts(fake) == (1, 0)
        later = T0 + timedelta(minutes=10)
        queue.record(findings_from_result(result(worst=0.2), injection_index=3, seen_at=later), later)
        assert queue.drain_queue(later).sent == 1
        assert _counts(fake) == (1, 1)
        assert queue.drain_queue(later + timedelta(hours=1)).sent == 0  # nothing left to send
    with FindingStore(path) as reopened:  # the daemon restarted
        queue = ExportQueue(reopened, exporters)
        again = T0 + timedelta(hours=2)
        queue.record(findings_from_result(result(), injection_index=9, seen_at=again), again)
        assert queue.drain_queue(again).sent == 1
        [f] = reopened.all()
        assert f.reproductions == 3
    assert _counts(fake) == (1, 2)
    httpserver.check_assertions()


def test_github_issue_carries_the_finding(httpserver: HTTPServer, tmp_path: Path) -> None:
    fake, settings, env = _github(httpserver)
    [exporter] = build_exporters(settings, environ=env).values()
    f = findings_from_result(result(), injection_index=0, seen_at=T0)[0]
    ref = exporter.export(f, None)
    issue = fake.issues[int(ref.external_id)]
    assert f.id in issue["title"] and f.hypothesis in issue["body"] and f.signature in issue["body"]
    assert issue["labels"] == ["chaos-agent"] and ref.url.endswith(f"/issues/{ref.external_id}")


def test_jira_issue_is_adf_and_keyed(httpserver: HTTPServer) -> None:
    fake, settings, env = _jira(httpserver)
    [exporter] = build_exporters(settings, environ=env).values()
    f = findings_from_result(result(with_latency=True), injection_index=0, seen_at=T0)[0]
    ref = exporter.export(f, None)
    assert ref.external_id == "OPS-1" and ref.url == f"{fake.url}/browse/OPS-1"
    fields = fake.issues["OPS-1"]["fields"]
    assert fields["issuetype"] == {"name": "Bug"} and len(fields["summary"]) <= 255
    assert f.hypothesis in str(fields["description"])


def test_the_schemas_reject_what_the_vendors_reject() -> None:
    """The validating servers would catch a regression: wrong shapes fail the published schemas."""
    assert problems(GITHUB_CREATE, {"body": "no title"})
    assert problems(GITHUB_CREATE, {"title": "t", "lables": ["typo"]})
    assert problems(GITHUB_CREATE, {"title": "t", "labels": "not-a-list"})
    good = adf_description(findings_from_result(result(), injection_index=0)[0])
    assert problems(ADF, good) == []
    empty_text = {
        "version": 1,
        "type": "doc",
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
    }
    assert problems(ADF, empty_text)
    assert problems(ADF, {"type": "doc", "content": []})  # version missing
    assert problems(ADF, "plain text is not ADF")
