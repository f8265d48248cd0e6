"""The endpoints' resources are bounded: idle connections time out and never take a thread each."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from agent.config.schedule import ServiceSettings
from agent.daemon.readiness import Readiness
from agent.service.http import AgentMetrics, ServiceEndpoints
from agent.service.server import MAX_CONNECTIONS

IDLE_CONNECTIONS = 800
THREAD_BUDGET = 64
"""Threads the endpoints may start however many clients connect: a probe and a scrape need a few."""


@pytest.fixture
def endpoints(request: pytest.FixtureRequest) -> Iterator[ServiceEndpoints]:
    """The endpoints, with the read timeout given by indirect parametrisation (default 1 s)."""
    server = ServiceEndpoints(metrics=AgentMetrics(), readiness=Readiness(lambda: 0.0, None, lambda: None,
                                                                           clock=lambda: 0.0),
                              host="127.0.0.1", port=0, timeout_s=getattr(request, "param", 1.0))
    server.start()
    yield server
    server.stop(2.0)


@pytest.fixture
def enough_file_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * IDLE_CONNECTIONS + 200  # both ends of every connection live in this process
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _healthz(url: str) -> int:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
        return int(r.status)


def test_the_default_bind_is_loopback() -> None:
    assert ServiceSettings().listen_host == "127.0.0.1"


@pytest.mark.parametrize("endpoints", [60.0], indirect=True)  # no idle one times out while they are opened
def test_800_idle_connections_do_not_make_800_threads(endpoints: ServiceEndpoints,
                                                       enough_file_descriptors: None) -> None:
    before = threading.active_count()
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", endpoints.port), timeout=5))
        time.sleep(0.5)  # the server accepts them all (serves or sheds each)
        grew = threading.active_count() - before
        assert grew <= min(MAX_CONNECTIONS, THREAD_BUDGET), f"{grew} threads for {IDLE_CONNECTIONS} idle connections"
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the served ones see the close and end
        if threading.active_count() <= before:
            break
        time.sleep(0.1)
    assert threading.active_count() <= before
    assert _healthz(endpoints.url) == 200


def test_a_silent_connection_is_closed_after_the_timeout(endpoints: ServiceEndpoints) -> None:
    with socket.create_connection(("127.0.0.1", endpoints.port), timeout=10) as s:
        started = time.monotonic()
        assert s.recv(1024) == b"", "the server closes a connection that sends nothing"
        assert 0.5 <= time.monotonic() - started < 5


def test_connections_beyond_the_limit_are_answered_busy_not_queued(endpoints: ServiceEndpoints) -> None:
    held = [socket.create_connection(("127.0.0.1", endpoints.port), timeout=5) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", endpoints.port), timeout=5) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.1 503")
    finally:
        for s in held:
            with contextlib.suppress(OSError):
                s.close()
