"""A training platform: many GPU training jobs, an experiment tracker and a model registry in front
of their databases, data-loader pipelines, and notebooks."""

from __future__ import annotations

from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, batch, datastore, entry, job, pipeline, serving


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    tracker = entry(b, take("entry"), (5.0, 80.0))
    services = [serving(b, take("service")) for _ in range(count(b, 1, 3, scale))]
    stores = [datastore(b, take("db")) for _ in range(count(b, 1, 2, scale))]
    fan_out(b, [tracker], services, 1, 3)
    fan_out(b, services, stores, 1, 2)
    for _ in range(count(b, 3, 7, scale)):
        job(b, take("job"), ns=b.namespace("train"), gpus=b.rng.choice((1, 2, 4, 8)))
    for _ in range(count(b, 1, 2, scale)):
        pipeline(b, take("pipeline"), take("model") if b.rng.random() < 0.7 else None, ns=b.namespace("data"))
    for _ in range(count(b, 1, 3, scale)):
        batch(b, take("batch"), ns=b.namespace("notebooks"))
