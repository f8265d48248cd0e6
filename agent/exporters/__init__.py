"""Exporters: findings to ticketing systems (Jira, GitHub, Redmine), a webhook and Alertmanager.

Every exporter is idempotent through the store: a recurrence updates the ticket already opened.
"""

from agent.exporters.base import Exporter
from agent.exporters.build import build_exporters
from agent.exporters.http import JsonHttp, RetryPolicy, TransientExportError
from agent.exporters.queue import DrainReport, ExportQueue
from agent.exporters.secrets import Secret, load_secret

__all__ = [
    "DrainReport",
    "ExportQueue",
    "Exporter",
    "JsonHttp",
    "RetryPolicy",
    "Secret",
    "TransientExportError",
    "build_exporters",
    "load_secret",
]
