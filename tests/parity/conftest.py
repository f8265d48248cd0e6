"""Fixtures: the emulator, and a factory for the agent's backend on it with a spec's simulator behind it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.config.cluster import KubernetesCluster
from envs.spec import ClusterSpec
from tests.agent.backends.kubernetes.conftest import fast_api
from tests.emulator.controllers import SimulatedControlPlane
from tests.emulator.fixtures import k8s_emulator
from tests.emulator.server import KubernetesEmulator
from tests.parity.bridged import BridgedCluster, MakeBridge

__all__ = ["bridge", "k8s_emulator"]

@pytest.fixture
def bridge(k8s_emulator: KubernetesEmulator) -> Iterator[MakeBridge]:
    """``bridge(spec, seed, settings)``: the spec's simulator behind the emulator, the agent's backend on it."""
    opened: list[BridgedCluster] = []

    def make(spec: ClusterSpec, seed: int, settings: KubernetesCluster) -> BridgedCluster:
        plane = SimulatedControlPlane(k8s_emulator, spec, seed=seed)
        backend = KubernetesBackend(fast_api(k8s_emulator), name=spec.name, settings=settings, clock=plane.sim.now)
        backend.cache._reconnect_delay_s = 0.05
        backend.start(timeout_s=10)
        opened.append(BridgedCluster(plane, backend))
        return opened[-1]

    yield make
    for bridged in opened:
        bridged.backend.close()
        bridged.plane.close()
