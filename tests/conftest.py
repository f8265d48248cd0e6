"""Session-wide test settings: local test servers bind to 127.0.0.1 only (never "localhost", which a
machine without /etc/hosts cannot resolve, and never another interface)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)
