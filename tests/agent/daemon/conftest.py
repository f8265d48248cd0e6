"""Fixtures of the daemon tests: a live emulated cluster and agent subprocesses that are always stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.daemon.harness import AgentProcess, LiveCluster, agents  # noqa: F401 (a fixture)
from tests.emulator.fixtures import k8s_emulator_chaos_mesh
from tests.emulator.server import KubernetesEmulator
from tests.servers.prometheus import prometheus_factory

__all__ = ["k8s_emulator_chaos_mesh", "prometheus_factory"]


@pytest.fixture
def live(k8s_emulator_chaos_mesh: KubernetesEmulator) -> Iterator[LiveCluster]:
    cluster = LiveCluster(k8s_emulator_chaos_mesh).start()
    yield cluster
    cluster.stop()



@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (its default, localhost, may resolve to ::1)."""
    return ("127.0.0.1", 0)
