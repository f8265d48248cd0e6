"""Batch ETL: many pipelines (some feeding models, some only reports), long CPU jobs computing
aggregates, schedulers, and one query API in front of a warehouse for the dashboards."""

from __future__ import annotations

from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, batch, datastore, entry, job, pipeline, serving


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    api = entry(b, take("entry"), (5.0, 100.0))
    query = serving(b, take("service"), latency_ms=(20.0, 400.0))
    warehouse = serving(b, take("db"), kind="StatefulSet", latency_ms=(10.0, 200.0), startup_s=(30.0, 180.0))
    fan_out(b, [api], [query, datastore(b, take("cache"))], 1, 2)
    fan_out(b, [query], [warehouse], 1, 1)
    for _ in range(count(b, 3, 6, scale)):
        pipeline(b, take("pipeline"), take("model") if b.rng.random() < 0.6 else None, ns=b.namespace("etl"))
    for _ in range(count(b, 2, 5, scale)):
        job(b, take("job"), ns=b.namespace("jobs"))
    for _ in range(count(b, 2, 4, scale)):
        batch(b, take("batch"))
