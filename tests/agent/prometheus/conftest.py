"""Fixtures of the Prometheus tests: the real-server factory and a small cluster topology."""

from __future__ import annotations

import pytest

from envs.spec import (
    ClusterSpec,
    LabelSelector,
    NodeSpec,
    Pipeline,
    PodTemplate,
    ServiceSpec,
    Training,
    Workload,
)
from tests.servers.prometheus import prometheus_factory

__all__ = ["prometheus_factory"]


def _deployment(ns: str, name: str, replicas: int, **extra: object) -> Workload:
    return Workload(namespace=ns, name=name, kind="Deployment", replicas=replicas,
                    template=PodTemplate(labels=(("app", name),)), **extra)  # type: ignore[arg-type]


def small_cluster() -> ClusterSpec:
    """shop: web -> web-api (Deployments) and db (StatefulSet); ml: ranker model, features, train Job."""
    return ClusterSpec(
        name="small",
        nodes=(NodeSpec("node-a"), NodeSpec("node-b"), NodeSpec("gpu-1", gpus=2)),
        workloads=(
            _deployment("shop", "web", 3),
            _deployment("shop", "web-api", 3),
            Workload(namespace="shop", name="db", kind="StatefulSet", replicas=2,
                     template=PodTemplate(labels=(("app", "db"),))),
            _deployment("ml", "ranker", 2, role="pipeline", pipeline=Pipeline(stage="model")),
            _deployment("ml", "features", 1, role="pipeline", pipeline=Pipeline(stage="feature_store")),
            Workload(namespace="ml", name="train", kind="Job", replicas=1, role="training",
                     template=PodTemplate(labels=(("app", "train"),), gpus=1), training=Training()),
        ),
        services=(
            ServiceSpec("shop", "web", LabelSelector((("app", "web"),)), entrypoint=True, load_rps=100),
            ServiceSpec("shop", "web-api", LabelSelector((("app", "web-api"),)), entrypoint=True,
                        load_rps=100),
            ServiceSpec("shop", "db", LabelSelector((("app", "db"),))),
        ),
    )


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (its default, localhost, may resolve to ::1)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def cluster() -> ClusterSpec:
    return small_cluster()
