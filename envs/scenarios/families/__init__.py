"""Topology families: the shapes of cluster the generator builds, one module each.

Each family lays out its own graph (entry points, services, datastores, GPU pools, jobs, pipelines) and
draws every workload's configuration from the same habits (``envs.scenarios.habits``), so what differs
between families is the shape, not how weaknesses look. Evaluated leave-one-family-out: a policy trained
without a family meets it only at test time.
"""

from __future__ import annotations

from collections.abc import Callable

from envs.scenarios.families import batch_etl, llm_inference, microservices, rag, streaming, training_platform
from envs.scenarios.habits import Builder

Family = Callable[[Builder, float], None]
"""Lays out one cluster of the family on the builder; the float scales its size (1.0: training)."""

FAMILIES: dict[str, Family] = {
    "microservices": microservices.build,
    "llm_inference": llm_inference.build,
    "rag": rag.build,
    "streaming": streaming.build,
    "batch_etl": batch_etl.build,
    "training_platform": training_platform.build,
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)
