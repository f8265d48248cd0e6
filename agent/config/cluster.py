"""[cluster]: which backend the agent drives, and how to reach or build it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.config.parse import setting

BUILTIN_SCENARIOS = ("ml-platform", "storefront", "generated")


def _scenario_name(value: str) -> str | None:
    return None if value in BUILTIN_SCENARIOS else f"must be one of {', '.join(BUILTIN_SCENARIOS)}"


@dataclass(frozen=True)
class SimulatedCluster:
    """[cluster.simulated]: the embedded simulated cluster."""

    scenario: str | None = setting(None, check=_scenario_name, doc=(
        "A built-in scenario name. Default (neither this nor manifests): ml-platform."))
    manifests: Path | None = setting(None, doc=(
        "A YAML file or folder of Kubernetes manifests to build the digital twin from; "
        "relative paths are taken from the config file's folder."))
    seed: int = setting(0, minimum=0, doc="Seed of the simulation and of the agent's draws.")


@dataclass(frozen=True)
class KubernetesCluster:
    """[cluster.kubernetes]: a real cluster through the official client."""

    kubeconfig: Path | None = setting(None, doc="kubeconfig path; in-cluster configuration when absent.")
    context: str | None = setting(None, doc="kubeconfig context; the current context when absent.")


@dataclass(frozen=True)
class ClusterSettings:
    backend: Literal["simulated", "kubernetes"] = setting("simulated", doc="Which cluster the agent drives.")
    simulated: SimulatedCluster = setting(factory=SimulatedCluster, doc="[cluster.simulated]")
    kubernetes: KubernetesCluster = setting(factory=KubernetesCluster, doc="[cluster.kubernetes]")
