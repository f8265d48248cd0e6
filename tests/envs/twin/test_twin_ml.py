"""Roles, training jobs and checkpointing, and pipeline stages along the feeds chain."""

from __future__ import annotations

from typing import Any

import pytest

from envs.spec import ClusterSpec, Pipeline, Training
from envs.twin import spec_from_objects
from tests.envs.twin.objects import container, deployment, job, node, service, statefulset


def build(*objects: dict[str, Any]) -> ClusterSpec:
    return spec_from_objects([*objects, node("n")], name="t")


def gpu_job(name: str = "train", *, annotations: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    return job(
        name,
        containers=[container(cpu="4", memory="16Gi", gpus=1, **kw.pop("c", {}))],
        annotations=annotations,
        **kw,
    )


@pytest.mark.parametrize(
    ("obj", "role"),
    [
        (deployment("web"), "serving"),
        (job("report"), "batch"),
        (gpu_job(), "training"),
        (deployment("cache", containers=[container(image="docker.io/library/redis:7-alpine")]), "cache"),
        (deployment("mc", containers=[container(image="memcached:1.6")]), "cache"),
        (deployment("x", annotations={"chaos-agent.io/workload": "training"}), "training"),
        (deployment("x", annotations={"chaos-agent.io/feeds": "web"}), "pipeline"),
        (
            job(
                "gpu-batch", containers=[container(gpus=1)], annotations={"chaos-agent.io/workload": "batch"}
            ),
            "batch",
        ),
    ],
)
def test_role_inference(obj: dict[str, Any], role: str) -> None:
    spec = build(obj, deployment("web"), service("web"))
    assert spec.workload(f"default/{obj['kind']}/{obj['metadata']['name']}").role == role


def test_bad_role_annotation_is_noted_and_inferred_role_used() -> None:
    spec = build(deployment("web", annotations={"chaos-agent.io/workload": "frontend"}))
    assert spec.workloads[0].role == "serving"
    assert any(
        "chaos-agent.io/workload='frontend' is invalid (allowed: one of serving, training, pipeline" in n
        for n in spec.notes
    )


def test_training_annotations() -> None:
    spec = build(
        gpu_job(
            annotations={
                "chaos-agent.io/checkpoint-interval": "30m",
                "chaos-agent.io/epochs": "20",
                "chaos-agent.io/epoch-duration": "1h",
                "chaos-agent.io/gpu-memory-fraction": "0.8",
            }
        )
    )
    assert spec.workloads[0].training == Training(
        epochs=20, epoch_s=3600.0, checkpoint_interval_s=1800.0, gpu_memory_fraction=0.8
    )


def test_training_without_checkpoints() -> None:
    spec = build(gpu_job())
    assert spec.workloads[0].training == Training(checkpoint_interval_s=None)


@pytest.mark.parametrize(
    ("volume", "path", "interval"),
    [
        ({"persistentVolumeClaim": {"claimName": "ckpt"}}, "/mnt/checkpoints", 600.0),
        ({"persistentVolumeClaim": {"claimName": "ckpt"}}, "/workspace/ckpt", 600.0),
        ({"ephemeral": {"volumeClaimTemplate": {"spec": {}}}}, "/data/Checkpoints", 600.0),
        ({"emptyDir": {}}, "/mnt/checkpoints", None),  # lost with the pod
        ({"persistentVolumeClaim": {"claimName": "data"}}, "/mnt/dataset", None),
    ],
)
def test_checkpoint_volume_means_checkpoint_every_epoch(
    volume: dict[str, Any], path: str, interval: float | None
) -> None:
    obj = gpu_job(c={"volumeMounts": [{"name": "v", "mountPath": path}]}, volumes=[{"name": "v", **volume}])
    training = build(obj).workloads[0].training
    assert training is not None and training.checkpoint_interval_s == interval


def test_checkpoint_volume_follows_annotated_epoch_duration() -> None:
    obj = gpu_job(
        annotations={"chaos-agent.io/epoch-duration": "45m"},
        c={"volumeMounts": [{"name": "v", "mountPath": "/checkpoints"}]},
        volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}],
    )
    training = build(obj).workloads[0].training
    assert training is not None and training.checkpoint_interval_s == 2700.0


def test_bad_training_annotations_fall_back_with_notes() -> None:
    spec = build(
        gpu_job(
            annotations={
                "chaos-agent.io/checkpoint-interval": "often",
                "chaos-agent.io/epochs": "0",
                "chaos-agent.io/gpu-memory-fraction": "2",
            }
        )
    )
    assert spec.workloads[0].training == Training()
    text = "\n".join(spec.notes)
    assert "Job default/train: annotation chaos-agent.io/checkpoint-interval='often' is invalid" in text
    assert "chaos-agent.io/epochs='0' is invalid" in text
    assert "chaos-agent.io/gpu-memory-fraction='2' is invalid" in text


def test_training_annotation_on_serving_workload_is_noted() -> None:
    spec = build(deployment("web", annotations={"chaos-agent.io/checkpoint-interval": "10m"}))
    assert spec.workloads[0].training is None
    assert any("chaos-agent.io/checkpoint-interval ignored (only training workloads" in n for n in spec.notes)


def pipeline_objects(**store_annotations: str) -> list[dict[str, Any]]:
    return [
        deployment(
            "ingest", annotations={"chaos-agent.io/feeds": "features", "chaos-agent.io/schema-check": "true"}
        ),
        statefulset(
            "features",
            annotations={
                "chaos-agent.io/workload": "pipeline",
                "chaos-agent.io/feeds": "ranker.serving",
                **store_annotations,
            },
        ),
        deployment(
            "ranker", namespace="serving", template_annotations={"chaos-agent.io/drift-monitor": "true"}
        ),
        service("features"),
        service("ranker", namespace="serving"),
    ]


def test_pipeline_stages_follow_the_feeds_chain() -> None:
    spec = build(*pipeline_objects())
    assert spec.workload("default/Deployment/ingest").pipeline == Pipeline(
        stage="producer", feeds=("default/Service/features",), schema_check=True
    )
    assert spec.workload("default/StatefulSet/features").pipeline == Pipeline(
        stage="feature_store", feeds=("serving/Service/ranker",)
    )
    ranker = spec.workload("serving/Deployment/ranker")
    assert ranker.pipeline == Pipeline(stage="model", drift_monitor=True)
    assert ranker.role == "serving"
    assert spec.workload("default/Deployment/ingest").role == "pipeline"


def test_annotated_stage_wins_and_staleness_is_read() -> None:
    spec = build(
        *pipeline_objects(
            **{"chaos-agent.io/pipeline-stage": "producer", "chaos-agent.io/max-staleness": "10m"}
        )
    )
    pipeline = spec.workload("default/StatefulSet/features").pipeline
    assert pipeline is not None and (pipeline.stage, pipeline.max_staleness_s) == ("producer", 600.0)


def test_bad_pipeline_annotations() -> None:
    spec = build(
        deployment(
            "etl",
            annotations={
                "chaos-agent.io/pipeline-stage": "sink",
                "chaos-agent.io/feeds": "nowhere",
                "chaos-agent.io/drift-monitor": "yes",
            },
        )
    )
    assert spec.workloads[0].pipeline == Pipeline(stage="producer")
    text = "\n".join(spec.notes)
    assert (
        "chaos-agent.io/pipeline-stage='sink' is invalid (allowed: one of producer, feature_store, model)"
        in text
    )
    assert "chaos-agent.io/feeds names 'nowhere', which is not a Service in the input" in text
    assert "chaos-agent.io/drift-monitor='yes' is invalid" in text
    assert "neither feeds nor is fed; assumed producer" in text


def test_pipeline_annotations_outside_a_pipeline_are_noted() -> None:
    spec = build(deployment("web", annotations={"chaos-agent.io/drift-monitor": "true"}))
    assert spec.workloads[0].pipeline is None
    assert any("chaos-agent.io/drift-monitor ignored (it is not part of a pipeline" in n for n in spec.notes)
