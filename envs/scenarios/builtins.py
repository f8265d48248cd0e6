"""The built-in scenarios: ``ml-platform`` (the default), ``storefront`` and ``generated``.

The two hand-made ones are fixed topologies built from the same robust parts and planters as the
generator, so their answer keys follow the same rules; the seed only names the scenario (the
simulation's own seed is separate). ``generated`` is ``generate(seed, HELD_OUT)``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from envs.scenarios import planting as plant
from envs.scenarios.draft import Draft, NodeDraft
from envs.scenarios.errors import UnknownScenarioError
from envs.scenarios.generator import generate
from envs.scenarios.names import Names
from envs.scenarios.params import HELD_OUT
from envs.scenarios.records import Decoy, PlantedWeakness, Scenario
from envs.scenarios.topology import (
    EDGE_NODES,
    LONG_RUN,
    Site,
    add_chain,
    add_decoy,
    add_entry,
    add_job,
    add_robust_service,
)

BUILTIN_NAMES = ("ml-platform", "storefront", "generated")


def _assemble(name: str, seed: int, draft: Draft, weaknesses: list[PlantedWeakness], decoys: list[Decoy],
              control: bool) -> Scenario:
    ids = [dataclasses.replace(w, class_id=f"c{i + 1:02d}") for i, w in enumerate(weaknesses)]
    return Scenario(name=name, seed=seed, spec=draft.freeze(), weaknesses=tuple(ids), decoys=tuple(decoys),
                    control=control)


def _site(name: str, ns: str, ml_ns: str, *, general: int, gpu: int, entries: tuple[tuple[str, float], ...],
          exclusive: int) -> Site:
    rng = random.Random(f"chaos-agent/builtin/{name}")
    draft = Draft(name)
    site = Site(draft=draft, rng=rng, names=Names("training", rng), ns=ns, ml_ns=ml_ns)
    zones = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    hosts = []
    for i in range(general):
        n = draft.add_node(NodeDraft(f"ip-10-0-{i + 1}-{17 + 13 * i}", zones[i % 3], "general"))
        hosts.append(n.name)
    for i in range(gpu):
        site.gpu_free.append(draft.add_node(NodeDraft(
            f"ip-10-8-{i + 1}-{40 + 7 * i}", zones[i % 3], "gpu", cpu_millis=32000, memory_mib=262144, gpus=8)))
    for i, (entry, load) in enumerate(entries):
        add_entry(site, entry, load, tuple(hosts[EDGE_NODES * i:EDGE_NODES * (i + 1)]))
    rest = hosts[EDGE_NODES * len(entries):]
    site.exclusive_nodes, site.shared_nodes = rest[:exclusive], rest[exclusive:]
    return site


def ml_platform(seed: int) -> Scenario:
    """A recommendation platform: API, feature store, pipelines, GPU training, model servers.

    Weaknesses in all five fault families: pod (a single-replica config service), node (candidate
    retrieval pinned to one node), network (a feature lookup with a tight timeout), GPU (a ranker
    training job without checkpoints) and data (a pipeline without drift monitor, one without schema
    check), plus a checkpoint gap, a leader election and a latency budget on the feed API.
    """
    site = _site("ml-platform", "recs", "ml", general=14, gpu=4,
                 entries=(("recommendation-api", 300.0), ("feed-api", 120.0)), exclusive=2)
    api = site.entries[0]
    add_robust_service(site, "user-profile", caller=api)
    add_robust_service(site, "session-cache", kind="cache", caller=api)
    add_robust_service(site, "item-catalog", kind="db", caller=api)
    add_chain(site, "impressions", "ctr-model")
    add_job(site, "ctr-train", LONG_RUN)
    site.pair_entries.add("feed-api")  # keep critical calls on the recommendation API
    planted: list[PlantedWeakness] = [
        plant.shallow_single_replica(site, "experiment-config"),
        plant.colocated(site, "candidate-retrieval"),
        plant.tight_timeout(site, "feature-lookup"),
        plant.gpu_no_checkpoint(site, "ranker-train"),
        plant.checkpoint_gap(site, "embedding-train"),
        plant.unmonitored_drift(site, "clickstream", "ranking-model"),
        plant.unchecked_rows(site, "catalog-sync", "embedding-model"),
        _on_entry(site, "recommendation-api", plant.flaky_leader),
    ]
    site.pair_entries.discard("feed-api")
    planted.append(plant.latency_pair(site, ("trending-scorer", "creator-stats")))
    decoys = [add_decoy(site, "batch_worker", "thumbnail-batch"),
              add_decoy(site, "report_pipeline", "ab-metrics"),
              add_decoy(site, "single_behind_fallback", "popular-items-cache"),
              add_decoy(site, "short_job", "warmup-finetune")]
    exposures = [plant.entry_exposure(site, e) for e in site.entries]
    return _assemble("ml-platform", seed, site.draft, [*planted, *exposures], decoys, control=False)


def storefront(seed: int) -> Scenario:
    """An online shop of about a dozen services behind a web and a mobile entry point."""
    site = _site("storefront", "shop", "shop-ml", general=14, gpu=1,
                 entries=(("storefront-web", 400.0), ("mobile-api", 250.0)), exclusive=2)
    web, mobile = site.entries
    catalog = add_robust_service(site, "catalog", caller=web)
    add_robust_service(site, "search", caller=web)
    add_robust_service(site, "inventory", caller=catalog)
    add_robust_service(site, "cart-redis", kind="cache", caller=web)
    add_robust_service(site, "orders-db", kind="db", caller=web)
    add_robust_service(site, "shipping", caller=mobile)
    site.pair_entries.add("mobile-api")
    planted: list[PlantedWeakness] = [
        plant.shallow_single_replica(site, "currency"),
        plant.tight_timeout(site, "payment"),
        plant.colocated(site, "cart"),
        plant.stateful_no_volume(site, "session-store"),
        plant.stale_ingestion(site, "orders", "recommendations-model"),
        _on_entry(site, "storefront-web", plant.flaky_leader),
    ]
    site.pair_entries.discard("mobile-api")
    planted.append(plant.latency_pair(site, ("recommendations", "reviews")))
    decoys = [add_decoy(site, "single_behind_fallback", "ads"),
              add_decoy(site, "batch_worker", "email-worker"),
              add_decoy(site, "single_sts_pvc", "wishlist-db")]
    exposures = [plant.entry_exposure(site, e) for e in site.entries]
    return _assemble("storefront", seed, site.draft, [*planted, *exposures], decoys, control=False)


def _on_entry(site: Site, entry: str, planter: Callable[[Site], PlantedWeakness]) -> PlantedWeakness:
    """Run an entry-point planter on the named entry only."""
    others = {e.name for e in site.entries if e.name != entry}
    saved = set(site.leader_entries)
    site.leader_entries |= others
    try:
        return planter(site)
    finally:
        site.leader_entries = saved | {entry}


_BUILTINS: dict[str, Callable[[int], Scenario]] = {
    "ml-platform": ml_platform,
    "storefront": storefront,
    "generated": lambda seed: generate(seed, HELD_OUT),
}


def builtin(name: str, seed: int = 0) -> Scenario:
    """A built-in scenario by name (``ml-platform``, ``storefront`` or ``generated``)."""
    try:
        make = _BUILTINS[name]
    except KeyError as e:
        raise UnknownScenarioError(
            f"unknown scenario {name!r}; use one of {', '.join(BUILTIN_NAMES)}") from e
    return make(seed)
