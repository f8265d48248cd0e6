"""The scenario generator: a robust cluster, then weaknesses and decoys planted at random per seed.

``generate(seed, params)`` is a pure function of its arguments. ``training_scenarios`` and
``held_out_scenarios`` give the benchmark's two sets; every fifth held-out scenario is a no-fault
control.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable

from envs.scenarios import planting as plant
from envs.scenarios.draft import Draft, NodeDraft
from envs.scenarios.names import Names
from envs.scenarios.params import CONTROL_SHARE, HELD_OUT, TRAINING, GeneratorParams
from envs.scenarios.records import Decoy, PlantedWeakness, Scenario
from envs.scenarios.topology import (
    DECOY_KINDS,
    EDGE_NODES,
    LONG_RUN,
    Site,
    add_chain,
    add_decoy,
    add_entry,
    add_job,
    add_robust_service,
)

ZONES = {
    "training": ("eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"),
    "held_out": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
}
ML_VARIANTS = ("gpu", "drift", "rows", "stale")
Planter = Callable[[Site], PlantedWeakness]


def generate(seed: int, params: GeneratorParams = TRAINING) -> Scenario:
    rng = random.Random(f"chaos-agent/{params.name_pool}/{seed}")
    names = Names(params.name_pool, rng)
    plan = _plan(rng, params)
    n_single = plan.count("single") + plan.count("colocated")
    n_pairs = plan.count("pair")
    needs_entry = any(p in ("single", "tight", "colocated", "pair", "flaky") for p in plan)
    entries = 0 if params.control else max(params.entry_points, plan.count("flaky"),
                                           n_pairs + (1 if needs_entry else 0), 1 if needs_entry else 0)
    jobs = params.training_jobs + plan.count("gap") + plan.count("gpu")
    n_general = max(params.nodes, EDGE_NODES * entries + n_single + 4)
    n_gpu = max(params.gpu_nodes, jobs + 1)

    ns = names.take("namespace")
    draft = Draft(f"{ns}-{seed}")
    site = Site(draft=draft, rng=rng, names=names, ns=ns, ml_ns=names.take("namespace"))
    _add_nodes(site, params, n_general, n_gpu)
    hosts = [n.name for n in draft.general_nodes()]
    rng.shuffle(hosts)
    for i in range(entries):
        edge = tuple(sorted(hosts[EDGE_NODES * i:EDGE_NODES * (i + 1)]))
        add_entry(site, names.take("entry"), round(rng.uniform(*params.load_rps)), edge)
    rest = hosts[EDGE_NODES * entries:]
    site.exclusive_nodes, site.shared_nodes = rest[:n_single], rest[n_single:]

    for _ in range(params.services):
        kind = rng.choice(("service", "service", "service", "cache", "db"))
        add_robust_service(site, names.take(kind), kind=kind)
    for _ in range(params.pipelines):
        add_chain(site, names.take("pipeline"), names.take("model"))
    for _ in range(params.training_jobs):
        add_job(site, names.take("job"), LONG_RUN)

    specific = [_PLANTERS[p](site) for p in plan]
    decoys = [add_decoy(site, rng.choice(DECOY_KINDS))
              for _ in range(params.decoys)]
    specific = [plant.slow_dependency_pairs(draft, w) if (w.kind, w.violation) == ("two_fault", "latency") else w
                for w in specific]  # every call is planted now
    exposures = [plant.entry_exposure(site, e) for e in site.entries]
    return _assemble(f"generated-{seed}", seed, draft, [*specific, *exposures], decoys, params.control)


def _plan(rng: random.Random, params: GeneratorParams) -> list[str]:
    """Which planter runs for each weakness the parameters ask for, in a random order."""
    plan: list[str] = []
    plan += [rng.choice(("single", "single", "stateful")) for _ in range(params.count("shallow"))]
    plan += ["tight"] * params.count("intensity")
    first = rng.random() < 0.5
    plan += ["pair" if (i % 2 == 0) == first else "colocated" for i in range(params.count("two_fault"))]
    plan += ["gap"] * params.count("state_dependent")
    plan += ["flaky"] * params.count("flaky")
    ml = list(ML_VARIANTS)
    rng.shuffle(ml)
    plan += [ml[i % len(ml)] for i in range(params.count("ml"))]
    rng.shuffle(plan)
    return plan


def _add_nodes(site: Site, params: GeneratorParams, n_general: int, n_gpu: int) -> None:
    prefix = site.names.node_prefix()
    zones = ZONES[params.name_pool][: max(1, min(params.zones, 4))]
    for i in range(n_general):
        site.draft.add_node(NodeDraft(f"{prefix}-{i + 1:02d}", zones[i % len(zones)], "general"))
    for i in range(n_gpu):
        node = site.draft.add_node(NodeDraft(
            f"{prefix}-gpu-{i + 1:02d}", zones[i % len(zones)], "gpu", cpu_millis=32000, memory_mib=262144,
            gpus=site.rng.choice((4, 8))))
        site.gpu_free.append(node)


def _two_names(site: Site) -> tuple[str, str]:
    return site.names.take("service"), site.names.take("service")


_PLANTERS: dict[str, Planter] = {
    "single": lambda s: plant.shallow_single_replica(s, s.names.take("service")),
    "stateful": lambda s: plant.stateful_no_volume(s, s.names.take("db")),
    "tight": lambda s: plant.tight_timeout(s, s.names.take("service")),
    "pair": lambda s: plant.latency_pair(s, _two_names(s)),
    "colocated": lambda s: plant.colocated(s, s.names.take("service")),
    "gap": lambda s: plant.checkpoint_gap(s, s.names.take("job")),
    "flaky": plant.flaky_leader,
    "gpu": lambda s: plant.gpu_no_checkpoint(s, s.names.take("job")),
    "drift": lambda s: plant.unmonitored_drift(s, s.names.take("pipeline"), s.names.take("model")),
    "rows": lambda s: plant.unchecked_rows(s, s.names.take("pipeline"), s.names.take("model")),
    "stale": lambda s: plant.stale_ingestion(s, s.names.take("pipeline"), s.names.take("model")),
}


def _assemble(name: str, seed: int, draft: Draft, weaknesses: list[PlantedWeakness], decoys: list[Decoy],
              control: bool) -> Scenario:
    ids = [dataclasses.replace(w, class_id=f"c{i + 1:02d}") for i, w in enumerate(weaknesses)]
    return Scenario(name=name, seed=seed, spec=draft.freeze(), weaknesses=tuple(ids), decoys=tuple(decoys),
                    control=control)


def training_scenarios(seeds: Iterable[int]) -> list[Scenario]:
    return [generate(s, TRAINING) for s in seeds]


def held_out_scenarios(seeds: Iterable[int], params: GeneratorParams = HELD_OUT) -> list[Scenario]:
    """Held-out scenarios; the one at every ``CONTROL_SHARE``-th position is a no-fault control."""
    control = dataclasses.replace(params, control=True)
    return [generate(s, control if i % CONTROL_SHARE == CONTROL_SHARE - 1 else params)
            for i, s in enumerate(seeds)]
