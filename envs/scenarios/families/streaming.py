"""A streaming feature platform: ingest APIs write to a broker; stream processors feed online feature
stores and the online models a scoring API calls; connectors move data out of the cluster."""

from __future__ import annotations

from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, batch, call, datastore, entry, pipeline, serving


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    ingest = [entry(b, take("entry"), (200.0, 2000.0)) for _ in range(count(b, 1, 2, scale))]
    broker = serving(b, take("stream"), kind="StatefulSet", latency_ms=(1.0, 15.0), startup_s=(20.0, 90.0))
    fan_out(b, ingest, [broker], 1, 1)
    scoring = entry(b, take("entry"), (50.0, 800.0))
    models = []
    for _ in range(count(b, 2, 4, scale)):
        _, store, model = pipeline(b, take("stream"), take("model") if b.rng.random() < 0.8 else None,
                                   ns=b.namespace("features"))
        if model is not None:
            models.append(model)
            if b.rng.random() < 0.5:
                call(b, model, store)
    fan_out(b, [scoring], models or [datastore(b, take("cache"))], 1, 3)
    lookups = [serving(b, take("service")) for _ in range(count(b, 1, 3, scale))]
    fan_out(b, [scoring, *ingest], lookups, 0, 2)
    fan_out(b, lookups, [datastore(b, take("db"))], 1, 1)
    for _ in range(count(b, 1, 3, scale)):
        batch(b, take("stream"))
