"""[exporters]: where findings go (Jira, GitHub, Redmine, a webhook, Alertmanager) and how hard to retry.

A sub-table turns its exporter on. Credentials never sit in the file: each is named by an
environment variable (``*_env``) or a file (``*_file``), and a value that looks like a secret
itself is refused. The error never repeats the value.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from agent.config.parse import setting
from agent.errors import ConfigError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_PREFIXES = ("ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-", "xox", "ATATT", "sk-", "AKIA")
SECRET_QUERY_KEYS = {"token", "access_token", "key", "api_key", "apikey", "password", "secret", "sig"}


def looks_like_secret(value: str) -> bool:
    """A token pasted where a name belongs: a vendor prefix, or a long mixed-case string with digits."""
    if value.startswith(SECRET_PREFIXES):
        return True
    if any(c in value for c in "@./: "):  # addresses, paths, names and URLs: checked elsewhere
        return False
    mixed = (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    return (len(value) >= 20 and mixed) or (len(value) >= 32 and "_" not in value and value.isalnum())


def _check_url(section: str, name: str, value: str) -> None:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{section}.{name} must be an http(s) URL such as https://host/path")
    if parts.password is not None or parts.username is not None:
        raise ConfigError(
            f"{section}.{name} carries credentials in the URL; remove them and name an "
            "environment variable or a file for the secret instead"
        )
    if SECRET_QUERY_KEYS & {k.lower() for k, _ in urllib.parse.parse_qsl(parts.query)}:
        raise ConfigError(
            f"{section}.{name} carries a secret in its query string; remove it and name an "
            "environment variable or a file for the secret instead"
        )


def _check_secret_source(section: str, name: str, env: str | None, file: Path | None, required: bool) -> None:
    if env is not None and file is not None:
        raise ConfigError(f"{section}: set one of {name}_env and {name}_file, not both")
    if required and env is None and file is None:
        raise ConfigError(
            f"{section}: {name}_env (an environment variable name) or {name}_file "
            "(a file holding the secret) is required"
        )
    if env is not None:
        if looks_like_secret(env):
            raise ConfigError(
                f"{section}.{name}_env looks like a secret itself (value not shown); put the "
                "secret in an environment variable and write that variable's name here"
            )
        if not ENV_NAME.match(env):
            raise ConfigError(
                f"{section}.{name}_env must be an environment variable name (letters, digits, underscores)"
            )


def _check_plain_http(section: str, name: str, value: str, allowed: bool) -> None:
    """A credential sent with every request must not cross the network in clear text unless asked to."""
    if urllib.parse.urlsplit(value).scheme == "http" and not allowed:
        raise ConfigError(
            f"{section}.{name} is {value}, plain http://, and every request carries the credential: use "
            f"https://, or set {section}.allow_insecure_http = true to send it unencrypted anyway"
        )


def _check_section(obj: Any, section: str, secrets: dict[str, bool]) -> None:
    """Shared validation: URLs carry no credentials, and every secret comes from the environment or a file.

    A section with an ``allow_insecure_http`` field sends its credential in a header: its URLs must be
    https:// unless that field says otherwise.
    """
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str) and f.name.endswith("url"):
            _check_url(section, f.name, value)
            if hasattr(obj, "allow_insecure_http"):
                _check_plain_http(section, f.name, value, obj.allow_insecure_http)
        elif isinstance(value, str) and looks_like_secret(value) and not f.name.endswith("_env"):
            raise ConfigError(
                f"{section}.{f.name} looks like a secret (value not shown); secrets are read "
                "only from environment variables or files"
            )
    for name, required in secrets.items():
        _check_secret_source(
            section, name, getattr(obj, f"{name}_env"), getattr(obj, f"{name}_file"), required
        )


@dataclass(frozen=True)
class JiraExport:
    """[exporters.jira]: Jira Cloud REST v3, basic auth with an account email and an API token."""

    url: str = setting(doc="Site URL, such as https://your-domain.atlassian.net.")
    project_key: str = setting(doc="Key of the project issues are created in, such as OPS.")
    email: str = setting(doc="Atlassian account email the API token belongs to.")
    token_env: str | None = setting(None, doc="Environment variable holding the API token.")
    token_file: Path | None = setting(None, doc="File holding the API token (one line).")
    issue_type: str = setting("Bug", doc="Issue type name for new issues.")
    labels: tuple[str, ...] = setting(("chaos-agent",), doc="Labels put on new issues (no spaces).")
    allow_insecure_http: bool = setting(False, doc=(
        "Allow an http:// URL although every request carries the credential in clear text (a test "
        "server on loopback, a trusted sidecar); https:// is required otherwise."))

    def __post_init__(self) -> None:
        _check_section(self, "exporters.jira", {"token": True})
        if any(" " in label for label in self.labels):
            raise ConfigError("exporters.jira.labels must not contain spaces (Jira labels are single words)")


@dataclass(frozen=True)
class GitHubExport:
    """[exporters.github]: GitHub Issues through the REST API, with a token."""

    repository: str = setting(doc="owner/name of the repository issues are opened in.")
    token_env: str | None = setting(None, doc="Environment variable holding the token (issues: write).")
    token_file: Path | None = setting(None, doc="File holding the token.")
    api_url: str = setting(
        "https://api.github.com", doc="REST API root; GitHub Enterprise: https://HOST/api/v3."
    )
    labels: tuple[str, ...] = setting(("chaos-agent",), doc="Labels put on new issues.")
    allow_insecure_http: bool = setting(False, doc=(
        "Allow an http:// URL although every request carries the credential in clear text (a test "
        "server on loopback, a trusted sidecar); https:// is required otherwise."))

    def __post_init__(self) -> None:
        _check_section(self, "exporters.github", {"token": True})
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repository):
            raise ConfigError("exporters.github.repository must be owner/name, such as acme/platform")


@dataclass(frozen=True)
class RedmineExport:
    """[exporters.redmine]: Redmine REST API (JSON), with a user's API key."""

    url: str = setting(doc="Redmine root URL, such as https://redmine.example.com.")
    project: str = setting(doc="Project identifier (or numeric id) issues are created in.")
    api_key_env: str | None = setting(None, doc="Environment variable holding the API key.")
    api_key_file: Path | None = setting(None, doc="File holding the API key.")
    tracker_id: int | None = setting(
        None, minimum=1, maximum=10**9, doc="Tracker of new issues; the project's default if absent."
    )
    allow_insecure_http: bool = setting(False, doc=(
        "Allow an http:// URL although every request carries the credential in clear text (a test "
        "server on loopback, a trusted sidecar); https:// is required otherwise."))

    def __post_init__(self) -> None:
        _check_section(self, "exporters.redmine", {"api_key": True})


@dataclass(frozen=True)
class WebhookExport:
    """[exporters.webhook]: POST each finding as JSON; optionally signed with HMAC-SHA256."""

    url: str = setting(doc="Endpoint receiving the POSTs.")
    secret_env: str | None = setting(
        None, doc="Environment variable holding the HMAC key (no signature if unset)."
    )
    secret_file: Path | None = setting(None, doc="File holding the HMAC key.")
    signature_header: str = setting(
        "X-Chaos-Agent-Signature",
        doc=("Header carrying sha256=<hex HMAC of the body>, as GitHub's X-Hub-Signature-256 does."),
    )

    def __post_init__(self) -> None:
        _check_section(self, "exporters.webhook", {"secret": False})


@dataclass(frozen=True)
class AlertmanagerExport:
    """[exporters.alertmanager]: an alert per finding through Alertmanager's v2 API."""

    url: str = setting(doc="Alertmanager root URL, such as http://alertmanager:9093.")
    alertname: str = setting("ChaosAgentFinding", doc="alertname label of every alert.")
    resolve_after_s: float = setting(
        3600.0,
        minimum=60,
        maximum=30 * 86400,
        doc=(
            "endsAt = now + this: the alert resolves by itself unless the finding recurs (each recurrence "
            "re-posts it and keeps it firing). An hour outlasts a game day's gaps between repeats."
        ),
    )
    generator_url: str | None = setting(None, doc="Link shown in notifications (a dashboard or the report).")

    def __post_init__(self) -> None:
        _check_section(self, "exporters.alertmanager", {})
        if self.generator_url is not None:
            _check_url("exporters.alertmanager", "generator_url", self.generator_url)


@dataclass(frozen=True)
class ExportersSettings:
    """[exporters]: each sub-table present turns that exporter on."""

    jira: JiraExport | None = setting(None, doc="[exporters.jira]")
    github: GitHubExport | None = setting(None, doc="[exporters.github]")
    redmine: RedmineExport | None = setting(None, doc="[exporters.redmine]")
    webhook: WebhookExport | None = setting(None, doc="[exporters.webhook]")
    alertmanager: AlertmanagerExport | None = setting(None, doc="[exporters.alertmanager]")
    timeout_s: float = setting(10.0, minimum=0.1, maximum=300, doc="Per-request timeout.")
    retries: int = setting(
        3,
        minimum=0,
        maximum=10,
        doc=(
            "Immediate retries of one export on 429, 5xx and timeouts, with exponential back-off and jitter."
        ),
    )
    backoff_s: float = setting(1.0, minimum=0, maximum=60, doc="First retry delay; doubles each retry.")
    max_backoff_s: float = setting(
        30.0,
        minimum=0,
        maximum=600,
        doc=("Longest wait inside one export (a longer Retry-After moves the export to a later drain)."),
    )
    queue_max_attempts: int = setting(
        20,
        minimum=1,
        maximum=1000,
        doc=("Drains that try a failed export before it is parked (a recurrence of the finding revives it)."),
    )
    queue_backoff_s: float = setting(
        60.0,
        minimum=1,
        maximum=86400,
        doc=(
            "Delay before a failed export is tried again by the queue; doubles per failure, capped at a day."
        ),
    )
