"""Credentials: only from the environment or files, refused inline, and never in logs, errors or reports."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.config.exporters import ExportersSettings, GitHubExport, JiraExport, looks_like_secret
from agent.config.parse import ParseContext, parse_section
from agent.errors import ConfigError, ExportError
from agent.exporters import ExportQueue, Secret, build_exporters, load_secret
from agent.findings import FindingStore, findings_from_result, render_list, render_show
from tests.agent.findings.sample_results import result

TOKEN = "ghp_Zq8vLm3Xw2Pn7Rt5Yk1Hs6Jd4Gf9Ab0Cc2E"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _parse(raw: dict[str, object], tmp_path: Path) -> ExportersSettings:
    return parse_section(ExportersSettings, raw, "exporters", ParseContext(tmp_path))


def test_secret_never_prints() -> None:
    s = Secret(TOKEN, "environment variable GH")
    assert repr(s) == str(s) == f"{s}" == "{}".format(s) == "***"  # noqa: UP032
    assert TOKEN not in repr({"token": s}) and s.reveal() == TOKEN
    assert s.redact(f"echo {TOKEN} back") == "echo *** back"
    with pytest.raises(TypeError):
        pickle.dumps(s)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"github": {"repository": "acme/shop", "token_env": TOKEN}}, "looks like a secret itself"),
        (
            {
                "jira": {
                    "url": "https://x.atlassian.net",
                    "project_key": "OPS",
                    "email": "a@b.c",
                    "token_env": "ATATT3xFfGF0abc",
                }
            },
            "looks like a secret itself",
        ),
        ({"github": {"repository": "acme/shop", "token": TOKEN}}, "not a known key"),
        ({"github": {"repository": "acme/shop"}}, "token_env (an environment variable name) or token_file"),
        ({"webhook": {"url": f"https://hooks.example.com/x?token={TOKEN}"}}, "secret in its query string"),
        (
            {
                "redmine": {
                    "url": f"https://admin:{TOKEN}@redmine.example.com",
                    "project": "p",
                    "api_key_env": "RM_KEY",
                }
            },
            "credentials in the URL",
        ),
        (
            {"github": {"repository": "acme/shop", "token_env": "GH TOKEN"}},
            "must be an environment variable name",
        ),
        (
            {
                "jira": {
                    "url": "https://x.atlassian.net",
                    "project_key": TOKEN[4:],
                    "email": "a@b.c",
                    "token_env": "JIRA",
                }
            },
            "looks like a secret",
        ),
    ],
)
def test_inline_secrets_are_refused_without_echoing_them(
    raw: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(raw, tmp_path)
    assert message in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN[4:] not in str(info.value)


def test_a_valid_section_parses(tmp_path: Path) -> None:
    (tmp_path / "jira.token").write_text(TOKEN + "\n")
    s = _parse(
        {
            "jira": {
                "url": "https://acme.atlassian.net",
                "project_key": "OPS",
                "email": "Firstname.Lastname2024@example.com",
                "token_file": "jira.token",
            },
            "alertmanager": {"url": "http://127.0.0.1:9093"},
            "retries": 2,
        },
        tmp_path,
    )
    assert s.jira is not None and s.jira.token_file == tmp_path / "jira.token"
    assert s.github is None and s.retries == 2
    assert load_secret(key="k", env=None, file=s.jira.token_file).reveal() == TOKEN  # type: ignore[union-attr]
    assert not looks_like_secret("CHAOS_AGENT_GITHUB_TOKEN") and looks_like_secret(TOKEN)


def test_missing_env_var_names_the_variable(tmp_path: Path) -> None:
    settings = ExportersSettings(github=GitHubExport(repository="acme/shop", token_env="GH_TOKEN_UNSET"))
    with pytest.raises(ConfigError, match="GH_TOKEN_UNSET, which is not set"):
        build_exporters(settings, environ={})


def test_token_never_reaches_logs_errors_or_reports(
    httpserver: HTTPServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def echo_and_fail(request: Request) -> Response:  # a hostile or buggy server echoing the credential
        return Response(json.dumps({"message": f"denied for {request.headers.get('Authorization')}"}), 503)

    httpserver.expect_request("/repos/acme/shop/issues", method="POST").respond_with_handler(echo_and_fail)
    settings = ExportersSettings(
        github=GitHubExport(repository="acme/shop", token_env="GH_TOKEN", api_url=httpserver.url_for(""),
                            allow_insecure_http=True),
        jira=JiraExport(url=httpserver.url_for(""), project_key="OPS", email="a@b.c", token_env="JIRA_TOKEN",
                        allow_insecure_http=True),
        retries=1,
    )
    caplog.set_level(logging.DEBUG)
    exporters = build_exporters(
        settings, environ={"GH_TOKEN": TOKEN, "JIRA_TOKEN": TOKEN}, sleep=lambda s: None, rng=random.Random(3)
    )
    with structlog.testing.capture_logs() as logs, FindingStore(tmp_path / "f.sqlite") as store:
        queue = ExportQueue(store, exporters)
        [(f, _)] = queue.record(findings_from_result(result(), injection_index=0, seen_at=T0), T0)
        report = queue.drain_queue(T0)
        assert report.failed == 2
        errors = [e.last_error for e in store.queue(f.signature)]
        with pytest.raises(ExportError) as info:
            exporters["github"].export(f, None)
        texts = [
            json.dumps(logs, default=str),
            caplog.text,
            *errors,
            str(info.value),
            repr(info.value),
            repr(exporters),
            render_show(f, store.export_refs(f.signature), store.queue(f.signature)),
            render_list(store.all()),
            json.dumps(f.to_report_dict()),
        ]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    assert any("answered 503" in e for e in errors) and any("***" in e for e in errors)
    assert logs, "the failures were logged"
    basic = base64.b64encode(f"a@b.c:{TOKEN}".encode()).decode()
    for text in texts:
        assert TOKEN not in text and basic not in text
