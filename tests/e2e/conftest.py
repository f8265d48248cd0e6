"""Fixtures of the end-to-end tests: the session's real control plane (tests/servers/kubernetes.py),
the agent installed into it (deploy/ or the Helm chart, tests/e2e/installs.py), the daemon's workload
set, and agent subprocesses that are always stopped.

Under pytest-xdist one worker runs them all (tests/conftest.py), against one control plane; a module with
a control plane of its own (test_twin_fidelity) runs on another.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.daemon.harness import AgentProcess, agents  # noqa: F401 (a fixture)
from tests.e2e.chaos_mesh import ChaosMeshStandIn
from tests.e2e.install_runs import InstallRun, InstallRuns
from tests.e2e.installs import INSTALLS, KUSTOMIZE, Install, Installs
from tests.e2e.live_agent import InstalledAgent, gpu_capacity, leftovers
from tests.e2e.workloads import PIPELINES, SHOP, apply_all, platform, wait_ready
from tests.servers.kubernetes import ControlPlane, control_plane
from tests.servers.prometheus import prometheus_factory

__all__ = ["control_plane", "prometheus_factory"]


@pytest.fixture(scope="session")
def installs(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Installs:
    """The one installed agent of the session (the platform's namespaces exist first: the installs bind
    roles in them)."""
    apply_all(control_plane.admin, [o for o in platform() if o["kind"] == "Namespace"])
    return Installs(control_plane, tmp_path_factory.mktemp("installs"))


@pytest.fixture
def installed_agent(installs: Installs) -> InstalledAgent:
    """deploy/ applied with kubectl -k (overlays/enabled, examples/data-faults); a token of its ServiceAccount."""
    return installs.ensure(KUSTOMIZE)


@pytest.fixture(scope="session")
def chaos_mesh(control_plane: ControlPlane) -> Iterator[ChaosMeshStandIn]:
    """Chaos Mesh's controller's status protocol on the real CRDs (tests/e2e/chaos_mesh.py)."""
    stand_in = ChaosMeshStandIn(control_plane.admin).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def platform_ready(control_plane: ControlPlane, installs: Installs, chaos_mesh: ChaosMeshStandIn) -> dict[str, str]:
    """The workloads running on the hollow nodes; returns each node's GPU capacity at the start."""
    api = control_plane.admin
    apply_all(api, platform())
    for ns, app, count in ((SHOP, "web", 3), (SHOP, "db", 2), (PIPELINES, "ingest", 2),
                           (PIPELINES, "features", 2), (PIPELINES, "ranker", 2), (PIPELINES, "embedder", 2),
                           (PIPELINES, "train", 2)):
        wait_ready(api, ns, app, count, timeout_s=120)
    return gpu_capacity(api)


@pytest.fixture(scope="session")
def install_runs(control_plane: ControlPlane, installs: Installs, platform_ready: dict[str, str],
                 tmp_path_factory: pytest.TempPathFactory) -> InstallRuns:
    """One run per install (tests/e2e/install_runs.py), made when a test first asks for it."""
    return InstallRuns(control_plane, installs, platform_ready, tmp_path_factory.mktemp("install-runs"))


@pytest.fixture(params=INSTALLS, ids=[i.id for i in INSTALLS])
def install(request: pytest.FixtureRequest) -> Install:
    return request.param


@pytest.fixture
def install_run(install_runs: InstallRuns, install: Install) -> InstallRun:
    return install_runs.get(install)


@pytest.fixture
def clean_platform(control_plane: ControlPlane, platform_ready: dict[str, str]) -> Iterator[dict[str, str]]:
    """The platform, checked free of faults before the test (a test that leaves one fails here too)."""
    assert leftovers(control_plane.admin, gpus=platform_ready) == [], "an earlier test left a fault behind"
    yield platform_ready
    for name in control_plane.nodes:
        control_plane.start_node(name, wait=False)

