"""A classic microservice shop: web and mobile front doors over two layers of services, databases and
caches at the bottom, background workers, and a recommendation pipeline behind one service."""

from __future__ import annotations

from envs.scenarios.families.wiring import count, fan_out
from envs.scenarios.habits import Builder, batch, call, datastore, entry, pipeline, serving


def build(b: Builder, scale: float) -> None:
    take = b.names.take
    fronts = [entry(b, take("entry"), (50.0, 600.0)) for _ in range(count(b, 1, 3, scale))]
    upper = [serving(b, take("service")) for _ in range(count(b, 3, 6, scale))]
    lower = [serving(b, take("service")) for _ in range(count(b, 2, 6, scale))]
    stores = [datastore(b, take(b.rng.choice(("db", "cache")))) for _ in range(count(b, 2, 5, scale))]
    fan_out(b, fronts, upper, 1, 3)
    fan_out(b, upper, lower + stores, 1, 3)
    fan_out(b, lower, stores, 0, 2)
    for _ in range(count(b, 1, 3, scale)):
        batch(b, take("batch"))
    if b.rng.random() < 0.6:
        _, _, model = pipeline(b, take("pipeline"), take("model"), ns=b.namespace("ml"))
        if model is not None:
            call(b, b.rng.choice(upper), model)
