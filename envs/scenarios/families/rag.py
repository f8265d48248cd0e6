"""Retrieval-augmented generation: an assistant API over an orchestrator that calls a retriever (over
a vector database), an embedder, a reranker and an LLM server; document-ingestion pipelines keep the
index fresh and an embedding job rebuilds it."""

from __future__ import annotations

from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, call, datastore, entry, job, pipeline, serving


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    ns = b.namespace("rag")
    apis = [entry(b, take("entry"), (10.0, 200.0)) for _ in range(count(b, 1, 2, scale))]
    orchestrator = serving(b, take("service"))
    retriever = serving(b, take("service"), latency_ms=(5.0, 80.0))
    vectors = serving(b, take("db"), kind="StatefulSet", latency_ms=(2.0, 40.0), startup_s=(20.0, 120.0))
    gpu = [serving(b, take("gpu_service"), ns=ns, gpus=b.rng.choice((1, 2, 4)), latency_ms=(10.0, 600.0),
                   startup_s=(40.0, 400.0), cpu_millis=2000) for _ in range(count(b, 2, 3, scale))]
    docs = datastore(b, take("db"))
    cache = datastore(b, take("cache"))
    fan_out(b, apis, [orchestrator], 1, 1)
    fan_out(b, apis, [cache], 0, 1)
    fan_out(b, [orchestrator], [retriever, *gpu, docs], 2, 4)
    call(b, retriever, vectors)
    for _ in range(count(b, 1, 3, scale)):
        _, _, index = pipeline(b, take("pipeline"), take("model") if b.rng.random() < 0.8 else None,
                               ns=b.namespace("ingest"))
        if index is not None and b.rng.random() < 0.5:
            call(b, retriever, index)
    job(b, take("job"), ns=b.namespace("train"), gpus=b.rng.choice((1, 2, 4)))
