"""Session-wide test settings: local test servers bind to 127.0.0.1 only (never "localhost", which a
machine without /etc/hosts cannot resolve, and never another interface); under pytest-xdist, the
end-to-end tests (tests/e2e) all run on one worker, so one Kubernetes control plane serves them."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


E2E = "tests/e2e/"
OWN_PLANE = ("tests/e2e/test_twin_fidelity.py",)
"""End-to-end modules that start a control plane of their own rather than use the session's: each is a
unit of work of its own, so it can run beside the others on another worker."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Load balancing as ``--dist load`` does, except that every test under tests/e2e that uses the
    session's control plane is one unit of work (and each module of ``OWN_PLANE`` another).

    xdist's own ``--dist loadgroup`` marks a group by a suffix of the test's nodeid, which pytest 9 no
    longer takes (nodeid is computed), so it spreads a group over the workers; each would start its own
    control plane (20 s and about 1 GB). Scope scheduling with one scope for tests/e2e and one per test
    elsewhere does what loadgroup meant.
    """
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class E2eOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            own = next((m for m in OWN_PLANE if nodeid.startswith(m)), None)
            return own or (E2E if nodeid.startswith(E2E) else nodeid)

    return E2eOnOneWorker(config, log)
