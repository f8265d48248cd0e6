"""Roles, training jobs and pipeline stages, from the annotation contract and what the pods show.

Role: the ``chaos-agent.io/workload`` annotation; else a Job asking for GPUs trains and any other Job
is batch; a workload with pipeline annotations is a pipeline; a datastore used as a cache
(envs/twin/datastores.py) is a cache; everything else serves. A training job checkpoints
every ``chaos-agent.io/checkpoint-interval``, or once an epoch when it mounts a PersistentVolumeClaim
at a path containing "checkpoint" or "ckpt" (the default of common trainers' checkpoint callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from envs.spec import Datastore, Pipeline, PipelineStage, Training, WorkloadRole
from envs.twin import annotations as a
from envs.twin.annotations import AnnotationReader
from envs.twin.notes import Notes
from envs.twin.workloads import WorkloadDraft

CHECKPOINT_PATH_MARKERS = ("checkpoint", "ckpt")
PIPELINE_KEYS = (a.PIPELINE_STAGE, a.FEEDS, a.DRIFT_MONITOR, a.SCHEMA_CHECK, a.MAX_STALENESS)
TRAINING_KEYS = (a.CHECKPOINT_INTERVAL, a.EPOCHS, a.EPOCH_DURATION, a.GPU_MEMORY_FRACTION)


def infer_role(draft: WorkloadDraft, reader: AnnotationReader, datastore: Datastore | None = None) -> WorkloadRole:
    declared = reader.optional(a.WORKLOAD, a.one_of(a.ROLES))
    if declared is not None:
        return declared  # type: ignore[return-value]
    if draft.kind == "Job":
        return "training" if draft.shape.template.gpus > 0 else "batch"
    if any(key in reader.values for key in (a.PIPELINE_STAGE, a.FEEDS)):
        return "pipeline"
    if datastore is not None and datastore.usage == "cache":
        return "cache"
    return "serving"


def training_for(
    draft: WorkloadDraft, role: WorkloadRole, reader: AnnotationReader, notes: Notes
) -> Training | None:
    if role != "training":
        for key in TRAINING_KEYS:
            if key in reader.values:
                notes.add(
                    f"{draft.describe}: annotation {key} ignored (only training workloads have it; "
                    f"this one is {role})"
                )
        return None
    defaults = Training()
    epoch_s = reader.get(a.EPOCH_DURATION, a.duration_s, defaults.epoch_s)
    interval = reader.optional(a.CHECKPOINT_INTERVAL, a.duration_s)
    if interval is None and any(
        marker in path.lower() for path in draft.shape.pvc_mount_paths for marker in CHECKPOINT_PATH_MARKERS
    ):
        interval = epoch_s
    return Training(
        epochs=reader.get(a.EPOCHS, a.positive_int, defaults.epochs),
        epoch_s=epoch_s,
        checkpoint_interval_s=interval if interval is None or interval > 0 else None,
        gpu_memory_fraction=reader.get(a.GPU_MEMORY_FRACTION, a.fraction, defaults.gpu_memory_fraction),
    )


@dataclass(frozen=True)
class PipelineHints:
    """What one workload's annotations say about its pipeline part."""

    declared: bool
    stage: PipelineStage | None
    feeds: tuple[str, ...]
    """Service keys."""
    drift_monitor: bool
    schema_check: bool
    max_staleness_s: float
    annotated: tuple[str, ...]
    """The pipeline annotations present."""


def pipeline_hints(role: WorkloadRole, reader: AnnotationReader, feeds: tuple[str, ...]) -> PipelineHints:
    return PipelineHints(
        declared=role == "pipeline" or any(k in reader.values for k in (a.PIPELINE_STAGE, a.FEEDS)),
        stage=reader.optional(a.PIPELINE_STAGE, a.one_of(a.STAGES)),  # type: ignore[arg-type]
        feeds=feeds,
        drift_monitor=reader.get(a.DRIFT_MONITOR, a.boolean, False),
        schema_check=reader.get(a.SCHEMA_CHECK, a.boolean, False),
        max_staleness_s=reader.get(a.MAX_STALENESS, a.duration_s, Pipeline(stage="producer").max_staleness_s),
        annotated=tuple(k for k in PIPELINE_KEYS if k in reader.values),
    )


def assign_stages(
    hints: Mapping[str, PipelineHints], fed: Mapping[str, bool], describe: Mapping[str, str], notes: Notes
) -> dict[str, Pipeline]:
    """Pipeline records by workload key: declared members and the workloads behind Services they feed.

    An unannotated stage follows from the workload's place in the feeds graph: fed and feeding is a
    feature store, fed only is a model, feeding only (or neither) is a producer.
    """
    out: dict[str, Pipeline] = {}
    for key in sorted(hints):
        hint = hints[key]
        is_fed = fed.get(key, False)
        if not hint.declared and not is_fed:
            for k in hint.annotated:
                notes.add(
                    f"{describe[key]}: annotation {k} ignored (it is not part of a pipeline: no "
                    f"{a.WORKLOAD}: pipeline, {a.PIPELINE_STAGE} or {a.FEEDS}, and nothing feeds it)"
                )
            continue
        stage = hint.stage
        if stage is None:
            if is_fed:
                stage = "feature_store" if hint.feeds else "model"
            else:
                stage = "producer"
                if not hint.feeds:
                    notes.add(
                        f"{describe[key]}: pipeline stage not annotated and it neither feeds nor is fed; "
                        "assumed producer"
                    )
        out[key] = Pipeline(
            stage=stage,
            feeds=hint.feeds,
            drift_monitor=hint.drift_monitor,
            schema_check=hint.schema_check,
            max_staleness_s=hint.max_staleness_s,
        )
    return out
