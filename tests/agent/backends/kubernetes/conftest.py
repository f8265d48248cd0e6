"""Fixtures for the Kubernetes backend tests: the emulator, a client on it, and a small seeded cluster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.retry import RetryPolicy
from tests.emulator import objects as o
from tests.emulator.fixtures import k8s_emulator, k8s_emulator_chaos_mesh
from tests.emulator.server import KubernetesEmulator

__all__ = ["k8s_emulator", "k8s_emulator_chaos_mesh"]


def fast_api(emulator: KubernetesEmulator, *, timeout_s: float = 2.0, attempts: int = 4) -> KubeApi:
    api = KubeApi.for_host(emulator.url)
    api.request_timeout_s = timeout_s
    api.retry = RetryPolicy(attempts=attempts, base_s=0.01, max_s=0.05)
    return api


@pytest.fixture
def api(k8s_emulator: KubernetesEmulator) -> Iterator[KubeApi]:
    client = fast_api(k8s_emulator)
    yield client
    client.close()


@dataclass
class Seeded:
    emulator: KubernetesEmulator
    web: dict[str, Any]
    web_pods: list[dict[str, Any]]
    db_pods: list[dict[str, Any]]
    train_pods: list[dict[str, Any]]


def seed_cluster(emulator: KubernetesEmulator) -> Seeded:
    """Nodes node-a, node-b, gpu-1 (4 GPUs); shop: web (Deployment x3, PDB minAvailable 3), db
    (StatefulSet x2); ml: train (Job x2, a GPU each)."""
    for name, gpus in (("node-a", 0), ("node-b", 0), ("gpu-1", 4)):
        emulator.put(o.node(name, gpus=gpus))
    web, web_pods = o.seed_workload(emulator, o.deployment("web", namespace="shop", replicas=3), ["node-a", "node-b"])
    emulator.put(o.service("web", namespace="shop"))
    emulator.put(o.pdb("web", namespace="shop", selector={"app": "web"}, min_available=3))
    _db, db_pods = o.seed_workload(emulator, o.statefulset("db", namespace="shop", replicas=2), ["node-b"])
    _train, train_pods = o.seed_workload(emulator, o.job("train", namespace="ml", parallelism=2, gpus=1), ["gpu-1"])
    emulator.put(o.hpa("web", namespace="shop", target="web"))
    return Seeded(emulator, web, web_pods, db_pods, train_pods)


@pytest.fixture
def seeded(k8s_emulator: KubernetesEmulator) -> Seeded:
    return seed_cluster(k8s_emulator)


@pytest.fixture
def backend(seeded: Seeded) -> Iterator[KubernetesBackend]:
    b = KubernetesBackend(fast_api(seeded.emulator), name="test")
    b.cache._reconnect_delay_s = 0.05
    b.start(timeout_s=10)
    yield b
    b.close()
