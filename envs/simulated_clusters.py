"""World factories on the simulator: generated training clusters, held-out ones, a fixed scenario,
or the digital twin of a set of manifests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from envs.anomaly import SnapshotAnomaly
from envs.cluster_under_test import World, WorldFactory
from envs.sim import SimulatedCluster
from envs.sim.timings import Timings
from envs.spec import ClusterSpec

if TYPE_CHECKING:
    from envs.scenarios import GeneratorParams, Scenario

DEFAULT_TIMINGS = Timings()


def simulated_world(spec: ClusterSpec, *, seed: int, label: object = None, timings: Timings = DEFAULT_TIMINGS
                    ) -> World:
    sim = SimulatedCluster(spec, seed=seed, timings=timings)
    return World(spec=spec, backend=sim, steady=sim, anomaly=SnapshotAnomaly(sim), label=label)


def scenario_world(scenario: Scenario, *, seed: int) -> World:
    """The scenario's cluster, with its own timings, labelled with the scenario (its answer key)."""
    return simulated_world(scenario.spec, seed=seed, label=scenario, timings=scenario.timings)


def generated_worlds(params: GeneratorParams) -> WorldFactory:
    """A new generated cluster every episode, without its answer key (sweeping one takes seconds):
    for strategies that learn from the env's own reward. The teacher needs keys: ``pool_worlds``."""
    from envs.scenarios import generate_cluster

    def make(rng: np.random.Generator) -> World:
        scenario_seed = int(rng.integers(2**31 - 1))
        return scenario_world(generate_cluster(scenario_seed, params), seed=int(rng.integers(2**31 - 1)))

    return make


def pool_worlds(scenarios: Sequence[Scenario]) -> WorldFactory:
    """One of ``scenarios`` (keyed clusters) every episode, in a new simulation each time."""
    if not scenarios:
        raise ValueError("pool_worlds needs at least one scenario")

    def make(rng: np.random.Generator) -> World:
        scenario = scenarios[int(rng.integers(len(scenarios)))]
        return scenario_world(scenario, seed=int(rng.integers(2**31 - 1)))

    return make


def training_worlds() -> WorldFactory:
    from envs.scenarios import TRAINING

    return generated_worlds(TRAINING)


def fixed_world(spec: ClusterSpec) -> WorldFactory:
    """The same topology every episode (the twin of the user's manifests), a new simulation each time."""
    return lambda rng: simulated_world(spec, seed=int(rng.integers(2**31 - 1)))


def mixed(*factories: WorldFactory, weights: tuple[float, ...] | None = None) -> WorldFactory:
    """Draw the factory per episode: e.g. generated clusters and the twin, for training on both."""
    w = np.asarray(weights or [1.0] * len(factories), dtype=float)
    w = w / w.sum()
    def pick(rng: np.random.Generator) -> World:
        return factories[int(rng.choice(len(factories), p=w))](rng)
    return pick
