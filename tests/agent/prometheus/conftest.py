"""Fixtures of the Prometheus tests: the real-server factory and a small cluster topology."""

from __future__ import annotations

import pytest

from envs.spec import ClusterSpec
from tests.agent.prometheus.topology import small_cluster
from tests.servers.prometheus import prometheus_factory

__all__ = ["prometheus_factory"]


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (its default, localhost, may resolve to ::1)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def cluster() -> ClusterSpec:
    return small_cluster()
