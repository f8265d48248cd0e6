"""Where credentials may travel: never to a redirect's host, and never over plain http:// unless allowed.

Two real local HTTP servers on different ports: the configured one answers every request with a
redirect to the other, which records whatever reaches it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.config.exporters import ExportersSettings, GitHubExport, JiraExport, RedmineExport, WebhookExport
from agent.config.parse import ParseContext, parse_section
from agent.errors import ConfigError, ExportError
from agent.exporters import build_exporters
from agent.exporters.http import TransientExportError
from agent.findings import findings_from_result
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = "s3cret-Credential-Value-0042"
ENVIRON = {"TOKEN": SECRET}
CREDENTIAL_HEADERS = ("authorization", "x-redmine-api-key", "x-chaos-agent-signature")


def _settings(name: str, url: str) -> ExportersSettings:
    sections = {
        "redmine": {"redmine": RedmineExport(url=url, project="chaos", api_key_env="TOKEN", allow_insecure_http=True)},
        "jira": {"jira": JiraExport(url=url, project_key="OPS", email="a@b.c", token_env="TOKEN",
                                    allow_insecure_http=True)},
        "github": {"github": GitHubExport(repository="acme/shop", token_env="TOKEN", api_url=url,
                                          allow_insecure_http=True)},
        "webhook": {"webhook": WebhookExport(url=url + "/hook", secret_env="TOKEN")},
    }
    return ExportersSettings(**sections[name], retries=3, backoff_s=0)  # type: ignore[arg-type]


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """The second host a redirect points at: it answers 201 and keeps every request it gets."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("").respond_with_handler(lambda r: Response('{"id": 1}', 201))
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("name", ["redmine", "jira", "github", "webhook"])
def test_a_redirect_never_carries_the_credential_to_another_host(
        httpserver: HTTPServer, elsewhere: HTTPServer, name: str, status: int) -> None:
    got: list[Request] = []

    def redirect(request: Request) -> Response:
        got.append(request)
        return Response("", status, headers={"Location": elsewhere.url_for(request.path)})

    httpserver.expect_request("").respond_with_handler(redirect)
    [exporter] = build_exporters(_settings(name, httpserver.url_for("")), environ=ENVIRON,
                                 sleep=lambda s: None, rng=random.Random(1)).values()
    finding = findings_from_result(result(), injection_index=1, seen_at=T0)[0]
    with pytest.raises(ExportError) as info:
        exporter.export(finding, None)
    assert not isinstance(info.value, TransientExportError), "a redirect is a configuration error, not retried"
    assert f"answered {status}, a redirect to {elsewhere.url_for('')}" in str(info.value)
    assert SECRET not in str(info.value)
    assert elsewhere.log == [], "the redirect's host was contacted"
    assert len(got) == 1, "a redirect must not be retried (once per retry was the old leak)"
    assert any(h in {k.lower() for k, _ in got[0].headers.items()} for h in CREDENTIAL_HEADERS)


def test_a_busy_server_that_then_redirects_is_asked_once_more_and_never_followed(
        httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    answers = [Response("", 503), Response("", 302, headers={"Location": elsewhere.url_for("/issues.json")})]
    httpserver.expect_request("/issues.json").respond_with_handler(lambda r: answers.pop(0))
    [exporter] = build_exporters(_settings("redmine", httpserver.url_for("")), environ=ENVIRON,
                                 sleep=lambda s: None).values()
    with pytest.raises(ExportError, match="redirects are not followed"):
        exporter.export(findings_from_result(result(), injection_index=1, seen_at=T0)[0], None)
    assert elsewhere.log == [] and len(httpserver.log) == 2


@pytest.mark.parametrize("section, raw", [
    ("redmine", {"url": "http://redmine.example.com", "project": "p", "api_key_env": "RM_KEY"}),
    ("jira", {"url": "http://acme.atlassian.net", "project_key": "OPS", "email": "a@b.c", "token_env": "JIRA"}),
    ("github", {"repository": "acme/shop", "token_env": "GH", "api_url": "http://ghe.example.com/api/v3"}),
    ("redmine", {"url": "http://127.0.0.1:3000", "project": "p", "api_key_env": "RM_KEY"}),
])
def test_plain_http_for_a_credential_is_refused_unless_allowed(section: str, raw: dict[str, object],
                                                                tmp_path: Path) -> None:
    ctx = ParseContext(tmp_path)
    with pytest.raises(ConfigError) as info:
        parse_section(ExportersSettings, {section: raw}, "exporters", ctx)
    message = str(info.value)
    assert f"exporters.{section}." in message and "plain http://" in message
    assert f"exporters.{section}.allow_insecure_http = true" in message and "\n" not in message
    allowed = parse_section(ExportersSettings, {section: {**raw, "allow_insecure_http": True}}, "exporters", ctx)
    assert getattr(allowed, section).allow_insecure_http is True


def test_exporters_without_a_credential_header_may_use_http(tmp_path: Path) -> None:
    parsed = parse_section(ExportersSettings, {
        "alertmanager": {"url": "http://alertmanager.monitoring:9093"},
        "webhook": {"url": "http://hooks.internal/x"},
    }, "exporters", ParseContext(tmp_path))
    assert parsed.alertmanager is not None and parsed.webhook is not None
