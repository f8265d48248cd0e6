"""[cluster]: which backend the agent drives, and how to reach or build it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.config.parse import setting
from agent.errors import ConfigError

BUILTIN_SCENARIOS = ("ml-platform", "storefront", "generated")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _namespace_names(values: tuple[str, ...]) -> str | None:
    bad = [v for v in values if not _DNS_LABEL.match(v)]
    if bad:
        return f"has {bad[0]!r}, which is not a namespace name (lowercase letters, digits and '-', at most 63)"
    return "names a namespace twice" if len(set(values)) != len(values) else None


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
    seed: int = setting(0, minimum=0, maximum=10**9, doc="Seed of the simulation and of the agent's draws.")


@dataclass(frozen=True)
class KubernetesCluster:
    """[cluster.kubernetes]: a real cluster through the official client."""

    kubeconfig: Path | None = setting(None, doc="kubeconfig path; in-cluster configuration when absent.")
    context: str | None = setting(None, doc="kubeconfig context; the current context when absent.")
    namespaces: tuple[str, ...] = setting((), check=_namespace_names, doc=(
        "Namespaces the agent reads and acts in (empty: the whole cluster). Set it with namespaced RBAC "
        "(RoleBindings in these namespaces only: deploy/examples/namespaced, or the Helm chart's "
        "rbac.namespaces): namespaced resources are then listed and watched per namespace, never "
        "cluster-wide; nodes stay cluster-wide. The agent's own namespace is watched for the halt "
        "ConfigMap either way."))
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
    lease_renew_deadline_s: float | None = setting(None, minimum=0.1, maximum=300, doc=(
        "Seconds the leader keeps injecting without a successful renewal; past it, it stops and reverts. "
        "Must be below lease_duration_s, so the leader has stopped before a standby can take over. "
        "Unset: two thirds of lease_duration_s (client-go's 10 s for its 15 s lease)."))
    lease_retry_period_s: float | None = setting(None, minimum=0.05, maximum=60, doc=(
        "Seconds between two renewal (or acquisition) attempts; below the renew deadline. Unset: 2/15 of "
        "lease_duration_s (client-go's 2 s for its 15 s lease)."))
    chaos_mesh_inject_timeout_s: float = setting(30.0, minimum=0.1, maximum=600, doc=(
        "Seconds to wait for Chaos Mesh to report a NetworkChaos or StressChaos injected (condition "
        "AllInjected) before the injection is reported refused and the object deleted. Chaos Mesh "
        "injects within seconds; 30 s leaves room for a busy controller."))
    chaos_mesh_revert_timeout_s: float = setting(30.0, minimum=0.1, maximum=600, doc=(
        "Seconds a revert waits for a deleted Chaos Mesh object to be gone (its chaos-mesh/records "
        "finalizer is removed once the controller has undone the rules) before it reports the leftover; "
        "the daemon's sweep keeps trying."))

    def __post_init__(self) -> None:
        renew = self.lease_renew_deadline_s
        retry = self.lease_retry_period_s
        lease = self.lease_duration_s
        if renew is not None and renew >= lease:
            raise ConfigError(f"cluster.kubernetes.lease_renew_deadline_s ({renew:g}) must be below "
                              f"lease_duration_s ({lease:g}), or two replicas could inject at once")
        if retry is not None and retry >= (renew if renew is not None else lease * 2 / 3):
            raise ConfigError(f"cluster.kubernetes.lease_retry_period_s ({retry:g}) must be below the renew "
                              "deadline (lease_renew_deadline_s, by default two thirds of lease_duration_s)")


@dataclass(frozen=True)
class ClusterSettings:
    backend: Literal["simulated", "kubernetes"] = setting("simulated", doc="Which cluster the agent drives.")
    simulated: SimulatedCluster = setting(factory=SimulatedCluster, doc="[cluster.simulated]")
    kubernetes: KubernetesCluster = setting(factory=KubernetesCluster, doc="[cluster.kubernetes]")
