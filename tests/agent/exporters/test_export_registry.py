"""The exporter registry: every [exporters] sub-table has an exporter, and each builds itself from its
table with ``from_settings``, its secrets from the environment and redacted from its messages."""

from __future__ import annotations

import base64
import dataclasses
import typing

import pytest

from agent.config.exporters import (
    AlertmanagerExport,
    ExportersSettings,
    GitHubExport,
    JiraExport,
    RedmineExport,
    WebhookExport,
)
from agent.errors import ConfigError
from agent.exporters import build_exporters
from agent.exporters.build import EXPORTERS

ENV = {"JIRA_TOKEN": "jira-t0ken", "GH_TOKEN": "gh-t0ken", "REDMINE_KEY": "redm1ne-key", "HOOK_KEY": "h00k"}
EVERY = ExportersSettings(
    jira=JiraExport(url="https://jira.example", project_key="OPS", email="me@example.com", token_env="JIRA_TOKEN"),
    github=GitHubExport(repository="me/app", token_env="GH_TOKEN"),
    redmine=RedmineExport(url="https://redmine.example", project="ops", api_key_env="REDMINE_KEY", tracker_id=3),
    webhook=WebhookExport(url="https://hooks.example/x", secret_env="HOOK_KEY"),
    alertmanager=AlertmanagerExport(url="http://alertmanager:9093", resolve_after_s=600),
    retries=2, timeout_s=4.0,
)


def test_every_sub_table_has_an_exporter() -> None:
    hints = typing.get_type_hints(ExportersSettings)
    tables = {name for name, hint in hints.items() if any(dataclasses.is_dataclass(a) for a in typing.get_args(hint))}
    assert tables == set(EXPORTERS)


def test_each_exporter_builds_itself_from_its_table() -> None:
    built = build_exporters(EVERY, environ=ENV)
    assert {key: exporter.name for key, exporter in built.items()} == {name: name for name in EXPORTERS}
    for exporter in built.values():
        http = exporter.http  # type: ignore[attr-defined]
        assert http.policy.retries == 2 and http.policy.timeout_s == 4.0
    jira, github, redmine = built["jira"].http, built["github"].http, built["redmine"].http  # type: ignore[attr-defined]
    basic = base64.b64encode(b"me@example.com:jira-t0ken").decode()
    assert jira.headers() == {"Authorization": f"Basic {basic}"} and jira.base_url == "https://jira.example"
    leaked = jira.redact(f"token jira-t0ken, header Basic {basic}")
    assert "jira-t0ken" not in leaked and basic not in leaked
    assert github.headers()["Authorization"] == "Bearer gh-t0ken" and "gh-t0ken" not in github.redact("gh-t0ken")
    assert redmine.headers() == {"X-Redmine-API-Key": "redm1ne-key"}
    assert built["redmine"].tracker_id == 3 and built["alertmanager"].resolve_after_s == 600  # type: ignore[attr-defined]
    assert built["webhook"].key is not None and built["webhook"].key.reveal() == "h00k"  # type: ignore[attr-defined]


def test_only_configured_tables_are_built() -> None:
    assert build_exporters(ExportersSettings(), environ={}) == {}
    only = build_exporters(ExportersSettings(webhook=WebhookExport(url="https://hooks.example/x")), environ={})
    assert list(only) == ["webhook"] and only["webhook"].key is None  # type: ignore[attr-defined]


def test_a_missing_secret_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"exporters\.redmine\.api_key_env names the environment variable REDMINE"):
        build_exporters(ExportersSettings(redmine=EVERY.redmine), environ={})
