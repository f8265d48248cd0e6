"""Build the configured exporters from [exporters], loading their secrets from the environment or files."""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Mapping

from agent.config.exporters import ExportersSettings
from agent.errors import ConfigError
from agent.exporters.alertmanager import AlertmanagerExporter
from agent.exporters.base import Exporter
from agent.exporters.github import API_VERSION, GitHubExporter
from agent.exporters.http import JsonHttp, RetryPolicy
from agent.exporters.jira import JiraExporter
from agent.exporters.redmine import RedmineExporter
from agent.exporters.secrets import Secret, load_secret
from agent.exporters.webhook import WebhookExporter


def _required(secret: Secret | None, key: str) -> Secret:
    if secret is None:  # the config refuses this already; kept for settings built in code
        raise ConfigError(f"{key}_env or {key}_file is required")
    return secret


def build_exporters(
    settings: ExportersSettings,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> dict[str, Exporter]:
    """One exporter per configured sub-table, keyed by its name in the store."""
    policy = RetryPolicy(
        retries=settings.retries,
        backoff_s=settings.backoff_s,
        max_backoff_s=settings.max_backoff_s,
        timeout_s=settings.timeout_s,
    )
    rng = rng or random.Random()

    def http(
        service: str,
        url: str,
        headers: Callable[[], Mapping[str, str]] = dict,
        secrets: tuple[Secret, ...] = (),
    ) -> JsonHttp:
        return JsonHttp(
            service=service,
            base_url=url,
            headers=headers,
            secrets=secrets,
            policy=policy,
            sleep=sleep,
            rng=rng,
        )

    out: dict[str, Exporter] = {}
    if (j := settings.jira) is not None:
        token = _required(
            load_secret(key="exporters.jira.token", env=j.token_env, file=j.token_file, environ=environ),
            "exporters.jira.token",
        )
        # the encoded pair is as secret as the token: it is redacted from messages too
        basic = Secret(base64.b64encode(f"{j.email}:{token.reveal()}".encode()).decode(), token.source)

        def jira_auth() -> dict[str, str]:
            return {"Authorization": f"Basic {basic.reveal()}"}

        out["jira"] = JiraExporter(
            http("jira", j.url, jira_auth, (token, basic)),
            project_key=j.project_key,
            issue_type=j.issue_type,
            labels=j.labels,
        )
    if (g := settings.github) is not None:
        gh_token = _required(
            load_secret(key="exporters.github.token", env=g.token_env, file=g.token_file, environ=environ),
            "exporters.github.token",
        )
        out["github"] = GitHubExporter(
            http(
                "github",
                g.api_url,
                lambda: {
                    "Authorization": f"Bearer {gh_token.reveal()}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                },
                (gh_token,),
            ),
            repository=g.repository,
            labels=g.labels,
        )
    if (r := settings.redmine) is not None:
        key = _required(
            load_secret(
                key="exporters.redmine.api_key", env=r.api_key_env, file=r.api_key_file, environ=environ
            ),
            "exporters.redmine.api_key",
        )
        out["redmine"] = RedmineExporter(
            http("redmine", r.url, lambda: {"X-Redmine-API-Key": key.reveal()}, (key,)),
            project=r.project,
            tracker_id=r.tracker_id,
        )
    if (w := settings.webhook) is not None:
        hmac_key = load_secret(
            key="exporters.webhook.secret", env=w.secret_env, file=w.secret_file, environ=environ
        )
        out["webhook"] = WebhookExporter(
            http("webhook", w.url, secrets=(hmac_key,) if hmac_key else ()),
            key=hmac_key,
            signature_header=w.signature_header,
        )
    if (a := settings.alertmanager) is not None:
        out["alertmanager"] = AlertmanagerExporter(
            http("alertmanager", a.url),
            alertname=a.alertname,
            resolve_after_s=a.resolve_after_s,
            generator_url=a.generator_url,
        )
    return out
