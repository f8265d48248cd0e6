"""The scenario generator: a cluster of one topology family, every workload configured from the same
habits, physical parameters drawn per cluster; the answer key found by running the simulator.

``generate_cluster(seed, params)`` is cheap and a pure function of its arguments (the spec, the
timings, the family). ``generate(seed, params)`` adds the answer key: every fault within the design
basis run in several cluster states (``envs.scenarios.effects``), what broke grouped into weaknesses
(``envs.scenarios.key``). That takes seconds per cluster; callers that need many keep them
(``policies/keys.py`` caches them as JSON).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable

from envs.scenarios.draft import Draft
from envs.scenarios.effects import sweep
from envs.scenarios.families import FAMILIES
from envs.scenarios.habits import Builder, add_nodes, settle_timeouts
from envs.scenarios.key import answer_key
from envs.scenarios.names import Names
from envs.scenarios.params import HELD_OUT, TRAINING, GeneratorParams
from envs.scenarios.physics import draw_physics
from envs.scenarios.records import PlantedWeakness, Scenario

ZONES = {
    "training": ("eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"),
    "held_out": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
}


def generate_cluster(seed: int, params: GeneratorParams = TRAINING) -> Scenario:
    """The cluster of ``seed``, without its answer key (``weaknesses`` is empty until ``with_key``)."""
    family = params.family(seed)
    rng = random.Random(f"chaos-agent/{params.name_pool}/{family}/{seed}")
    names = Names(params.name_pool, rng)
    ns = names.take("namespace")
    b = Builder(draft=Draft(f"{family}-{seed}"), rng=rng, names=names, physics=draw_physics(rng), ns=ns)
    FAMILIES[family](b, params.scale)
    settle_timeouts(b.draft)
    zones = ZONES[params.name_pool][: rng.choice((1, 2, 3, 3, 3, 4))]
    add_nodes(b, zones, names.node_prefix())
    return Scenario(name=f"{family}-{seed}", seed=seed, spec=b.draft.freeze(), weaknesses=(), decoys=(),
                    control=False, family=family, timings=b.physics.timings)


def with_key(scenario: Scenario, weaknesses: Iterable[PlantedWeakness] | None = None) -> Scenario:
    """The scenario with its answer key: ``weaknesses`` when given (a stored key), else swept now."""
    if weaknesses is None:
        weaknesses = answer_key(sweep(scenario.spec, seed=scenario.seed, timings=scenario.timings))
    ids = tuple(dataclasses.replace(w, class_id=f"c{i + 1:02d}") for i, w in enumerate(weaknesses))
    return dataclasses.replace(scenario, weaknesses=ids)


def generate(seed: int, params: GeneratorParams = TRAINING) -> Scenario:
    """The cluster of ``seed`` with its answer key (seconds: it runs the sweep)."""
    return with_key(generate_cluster(seed, params))


def training_scenarios(seeds: Iterable[int], params: GeneratorParams = TRAINING) -> list[Scenario]:
    return [generate(s, params) for s in seeds]


def held_out_scenarios(seeds: Iterable[int], params: GeneratorParams = HELD_OUT) -> list[Scenario]:
    return [generate(s, params) for s in seeds]
