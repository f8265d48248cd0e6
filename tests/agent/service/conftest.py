"""Fixtures of the service tests: the real Prometheus factory."""

from __future__ import annotations

from tests.servers.prometheus import prometheus_factory

__all__ = ["prometheus_factory"]
