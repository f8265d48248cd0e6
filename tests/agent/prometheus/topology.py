"""The small cluster the Prometheus and service tests score: a shop and an ML namespace."""

from __future__ import annotations

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


def _deployment(ns: str, name: str, replicas: int, startup_s: float, **extra: object) -> Workload:
    return Workload(namespace=ns, name=name, kind="Deployment", replicas=replicas,  # type: ignore[arg-type]
                    template=PodTemplate(labels=(("app", name),), startup_s=startup_s), **extra)


def small_cluster(*, startup_s: float = 5.0) -> ClusterSpec:
    """shop: web and web-api (Deployments, entry points), db (StatefulSet); ml: ranker model, features
    pipeline stage, train Job on the GPU node."""
    return ClusterSpec(
        name="small",
        nodes=(NodeSpec("node-a"), NodeSpec("node-b"), NodeSpec("gpu-1", gpus=2)),
        workloads=(
            _deployment("shop", "web", 3, startup_s),
            _deployment("shop", "web-api", 3, startup_s),
            Workload(namespace="shop", name="db", kind="StatefulSet", replicas=2,
                     template=PodTemplate(labels=(("app", "db"),), startup_s=startup_s)),
            _deployment("ml", "ranker", 2, startup_s, role="pipeline", pipeline=Pipeline(stage="model")),
            _deployment("ml", "features", 1, startup_s, role="pipeline",
                        pipeline=Pipeline(stage="feature_store")),
            Workload(namespace="ml", name="train", kind="Job", replicas=1, role="training",
                     template=PodTemplate(labels=(("app", "train"),), gpus=1, startup_s=startup_s),
                     training=Training()),
        ),
        services=(
            ServiceSpec("shop", "web", LabelSelector((("app", "web"),)), entrypoint=True, load_rps=100),
            ServiceSpec("shop", "web-api", LabelSelector((("app", "web-api"),)), entrypoint=True,
                        load_rps=100),
            ServiceSpec("shop", "db", LabelSelector((("app", "db"),))),
        ),
    )
