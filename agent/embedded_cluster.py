"""Build the cluster the agent drives from the configuration: the embedded simulated cluster (a
built-in scenario or the digital twin of the user's manifests)."""

from __future__ import annotations

from agent.config import Config
from agent.errors import ConfigError
from agent.twin.calibration import calibrated
from agent.twin.inputs import build, gather
from envs.cluster_under_test import World
from envs.spec import ClusterSpec

SHOWN_SKIPPED = 5
"""Skipped objects named in the "no workload" error; the rest are counted."""


def no_workload_reason(spec: ClusterSpec) -> str:
    """Why a twin has no workload: each object the twin skipped and why (the first few), in one line."""
    from envs.twin import skipped_objects

    skipped = skipped_objects(spec)
    if not skipped:
        return "it holds no Deployment, StatefulSet, Job or CronJob"
    more = f"; and {len(skipped) - SHOWN_SKIPPED} more (see the notes)" if len(skipped) > SHOWN_SKIPPED else ""
    return "skipped " + "; skipped ".join(skipped[:SHOWN_SKIPPED]) + more


def twin_spec(config: Config) -> ClusterSpec:
    """The twin of ``[cluster.simulated] manifests`` (with the service graph in Prometheus when ``[prometheus]
    enabled``); one clear line when there is nothing to simulate."""
    manifests = config.cluster.simulated.manifests
    spec = build(gather(config))
    if not spec.workloads:
        raise ConfigError(f"cluster.simulated.manifests = {str(manifests)!r} holds no workload the twin can model "
                          f"(Deployments, StatefulSets, Jobs, CronJobs): {no_workload_reason(spec)}; see docs/twin.md")
    return spec


def simulated_world(config: Config) -> World:
    from envs.simulated_clusters import scenario_world
    from envs.simulated_clusters import simulated_world as simulated

    sim = config.cluster.simulated
    if sim.manifests is not None:
        return simulated(calibrated(twin_spec(config), config), seed=sim.seed)
    from envs.scenarios import builtin

    return scenario_world(builtin(sim.scenario or "ml-platform", sim.seed), seed=sim.seed)
