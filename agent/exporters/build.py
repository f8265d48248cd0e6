"""Build the configured exporters from [exporters]: one registry entry per sub-table, each exporter
building itself with ``from_settings`` (its secrets from the environment or files).

A new exporter is a module with its class and its settings, and one line here; a test checks that
every sub-table of ``ExportersSettings`` has its entry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from agent.config.exporters import ExportersSettings
from agent.exporters.alertmanager import AlertmanagerExporter
from agent.exporters.base import Exporter
from agent.exporters.context import ExporterContext
from agent.exporters.github import GitHubExporter
from agent.exporters.http import RetryPolicy
from agent.exporters.jira import JiraExporter
from agent.exporters.redmine import RedmineExporter
from agent.exporters.webhook import WebhookExporter

ExporterFactory = Callable[[Any, ExporterContext], Exporter]
"""An exporter's ``from_settings``: its own settings (a dataclass of agent.config.exporters) and the context."""

EXPORTERS: Mapping[str, ExporterFactory] = {
    "jira": JiraExporter.from_settings,
    "github": GitHubExporter.from_settings,
    "redmine": RedmineExporter.from_settings,
    "webhook": WebhookExporter.from_settings,
    "alertmanager": AlertmanagerExporter.from_settings,
}
"""By the name of their [exporters] sub-table, which is also their key in the findings store."""


def build_exporters(
    settings: ExportersSettings,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> dict[str, Exporter]:
    """One exporter per configured sub-table, keyed by its name in the store."""
    context = ExporterContext(
        policy=RetryPolicy(retries=settings.retries, backoff_s=settings.backoff_s,
                           max_backoff_s=settings.max_backoff_s, timeout_s=settings.timeout_s),
        environ=environ, sleep=sleep, rng=rng or random.Random())
    return {name: make(sub, context) for name, make in EXPORTERS.items()
            if (sub := getattr(settings, name)) is not None}
