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
    error_budget: float | None = setting(None, minimum=0, doc=(
        "SLO error budget (violation-minutes) of a simulated `run`. None by default: the simulated cluster is "
        "there to be broken, so a run uses all its injections; [safety] error_budget applies to real clusters."))


@dataclass(frozen=True)
class KubernetesCluster:
    """[cluster.kubernetes]: a real cluster through the official client."""

    kubeconfig: Path | None = setting(None, doc="kubeconfig path; in-cluster configuration when absent.")
    context: str | None = setting(None, doc="kubeconfig context; the current context when absent.")
    pod_grace_period_s: int = setting(0, minimum=0, maximum=3600, doc=(
        "Seconds of graceful termination given to a pod the agent kills. 0 is a hard kill, as Chaos "
        "Mesh's pod-kill does and as the simulator models it; 30 (Kubernetes' default) makes a kill look "
        "like an ordinary delete. Evictions always keep each pod's own grace period, as kubectl drain."))
    request_timeout_s: float = setting(10.0, minimum=0.1, maximum=300, doc=(
        "Seconds before one API request (not a watch) is abandoned and retried. 10 s is far above a "
        "healthy API server's latency and short enough not to stall an experiment."))
    retry_attempts: int = setting(5, minimum=1, maximum=20, doc=(
        "Tries per API request on 429, 5xx and timeouts, with exponential back-off and jitter "
        "(random up to 0.2 s, doubling; a Retry-After wins): at most 3 s of back-off over 5 tries, "
        "enough for an API server restart's brief 503s without stalling an experiment."))
    list_page_size: int = setting(500, minimum=1, maximum=10000, doc=(
        "Items per list page (limit/continue). 500 is kubectl's chunk size; pages keep the API "
        "server's memory and each answer small on large clusters."))
    watch_timeout_s: int = setting(300, minimum=1, maximum=3600, doc=(
        "Server-side timeout of one watch request, after which it is renewed from its "
        "resourceVersion. 5 minutes keeps connections fresh across load balancers that cut idle ones."))
    lease_name: str = setting("chaos-agent-leader", doc=(
        "Name of the coordination.k8s.io Lease (in [agent] namespace) that elects the one agent "
        "replica allowed to inject."))
    lease_duration_s: float = setting(15.0, minimum=1, maximum=300, doc=(
        "Seconds a leader's lease is valid without renewal; the standby takes over after this. 15 s "
        "is client-go's default: short outages of one replica do not flap leadership."))


@dataclass(frozen=True)
class ClusterSettings:
    backend: Literal["simulated", "kubernetes"] = setting("simulated", doc="Which cluster the agent drives.")
    simulated: SimulatedCluster = setting(factory=SimulatedCluster, doc="[cluster.simulated]")
    kubernetes: KubernetesCluster = setting(factory=KubernetesCluster, doc="[cluster.kubernetes]")
