"""Cold starts: how long after its container runs a process can serve, from the annotation or, for
well-known model servers, an assumed model load.

Model servers load their weights before they answer: tens of seconds to minutes. Without a readiness
probe such a pod is Ready, and receives requests, long before it can serve them (docs/twin.md). A
workload annotated with ``chaos-agent.io/startup`` alone keeps that annotation's meaning: the process
serves when the container runs.
"""

from __future__ import annotations

from envs.twin import annotations as a
from envs.twin.annotations import AnnotationReader
from envs.twin.datastores import image_name
from envs.twin.provenance import Provenance
from envs.twin.workloads import WorkloadDraft

MODEL_SERVERS = ("vllm", "text-generation-inference", "tgi", "tritonserver", "ollama", "sglang", "lmdeploy",
                 "llama.cpp", "llama-server", "tensorrt-llm", "huggingfaceserver", "torchserve", "tfserving",
                 "tensorflow-serving", "mlserver")
"""Image names (prefixes) of model servers, whose process loads a model before it answers."""
MODEL_LOAD_S = 120.0
"""Assumed model load of a known model server without a ``chaos-agent.io/cold-start`` annotation: the
order of a 7-13B LLM read from local disk onto a GPU; annotate the measured value."""


def cold_start_s(draft: WorkloadDraft, reader: AnnotationReader, provenance: Provenance) -> float:
    annotated = reader.optional(a.COLD_START, a.duration_s)
    if annotated is not None:
        return annotated
    if a.STARTUP in reader.values:
        return 0.0  # chaos-agent.io/startup alone already says when the process serves
    for c in draft.shape.containers:
        name = image_name(c.image)
        if any(name.startswith(server) for server in MODEL_SERVERS):
            provenance.add(draft.origin, a.COLD_START, f"{MODEL_LOAD_S:g}s",
                           f"{name} is a model server: it loads a model before it serves (assumed)")
            return MODEL_LOAD_S
    return 0.0
