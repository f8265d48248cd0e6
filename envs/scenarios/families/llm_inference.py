"""LLM inference on GPU pools: a gateway and a router in front of model servers (GPU Deployments with
long cold starts), a tokenizer, a safety classifier, prompt and rate-limit caches, a conversation store;
fine-tuning jobs and a feedback pipeline beside them."""

from __future__ import annotations

from envs.scenarios.draft import WorkloadDraft
from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, batch, call, datastore, entry, job, pipeline, serving


def _model_server(b: Builder, name: str) -> WorkloadDraft:
    return serving(b, name, ns=b.namespace("inference"), gpus=b.rng.choice((1, 2, 4, 8)),
                   latency_ms=(40.0, 800.0), startup_s=(60.0, 600.0), cpu_millis=4000)


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    gateways = [entry(b, take("entry"), (5.0, 120.0)) for _ in range(count(b, 1, 2, scale))]
    router = serving(b, take("service"))
    fan_out(b, gateways, [router], 1, 1)
    models = [_model_server(b, take("gpu_service")) for _ in range(count(b, 1, 3, scale))]
    helpers = [serving(b, take("service")) for _ in range(count(b, 1, 3, scale))]
    guard = serving(b, take("gpu_service"), gpus=1, latency_ms=(10.0, 100.0), startup_s=(30.0, 180.0))
    caches = [datastore(b, take("cache")) for _ in range(count(b, 1, 2, scale))]
    conversations = datastore(b, take("db"))
    fan_out(b, [router], [*models, *helpers, guard], 2, 4)
    fan_out(b, gateways, caches, 1, 2)
    call(b, b.rng.choice(gateways), conversations)
    for _ in range(count(b, 1, 2, scale)):
        job(b, take("job"), ns=b.namespace("train"), gpus=b.rng.choice((2, 4, 8)))
    pipeline(b, take("pipeline"), take("model") if b.rng.random() < 0.7 else None, ns=b.namespace("data"))
    for _ in range(count(b, 0, 2, scale)):
        batch(b, take("batch"))
