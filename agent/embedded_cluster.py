"""Build the cluster the agent drives from the configuration: the embedded simulated cluster (a
built-in scenario or the digital twin of the user's manifests)."""

from __future__ import annotations

from agent.config import Config
from agent.errors import ConfigError, ManifestError
from envs.cluster_under_test import World


def simulated_world(config: Config) -> World:
    from envs.simulated_clusters import scenario_world
    from envs.simulated_clusters import simulated_world as simulated
    from envs.twin import ManifestError as TwinManifestError
    from envs.twin import load_manifests

    sim = config.cluster.simulated
    if sim.manifests is not None:
        try:
            spec = load_manifests(sim.manifests)
        except TwinManifestError as e:
            raise ManifestError(f"cluster.simulated.manifests: {e}") from e
        if not spec.workloads:
            raise ConfigError(f"cluster.simulated.manifests = {str(sim.manifests)!r} holds no workload the twin "
                              "can model (Deployments, StatefulSets, Jobs); see docs/twin.md")
        return simulated(spec, seed=sim.seed)
    from envs.scenarios import builtin

    return scenario_world(builtin(sim.scenario or "ml-platform", sim.seed), seed=sim.seed)
