"""[agent], [experiment] and [policy]: how the agent's loop runs and how it chooses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.config.parse import setting

Strategy = Literal[
    "rl", "anomaly_weighted", "uniform_random", "pod_kill", "incident_weighted", "round_robin", "static_rules",
    "genetic", "thompson", "linucb",
]


@dataclass(frozen=True)
class AgentSettings:
    namespace: str = setting("chaos-agent", doc="The namespace the agent runs in (always protected).")
    max_injections: int = setting(60, minimum=1, maximum=1_000_000, doc=(
        "Injections before `run` ends on a simulated cluster; `--max-injections` overrides it."))
    leader_election: bool = setting(True, doc=(
        "On the kubernetes backend, inject only while holding the Lease [cluster.kubernetes] lease_name "
        "(in POD_NAMESPACE, else this namespace), so of several replicas exactly one injects. Turn off "
        "only for a single agent outside the cluster."))
    kill_switch_poll_s: float = setting(1.0, minimum=0.1, maximum=30, doc=(
        "Seconds between two reads of the kill switch (and of the Prometheus stop conditions while a "
        "fault is active). One second: a halt reverts every active fault within seconds."))
    revert_timeout_s: float = setting(100.0, minimum=1, maximum=3600, doc=(
        "On SIGTERM or SIGINT, seconds allowed to revert every active fault before the process exits. "
        "100 s fits the deployment's terminationGracePeriodSeconds of 120."))
    retry_max_s: float = setting(60.0, minimum=0.1, maximum=3600, doc=(
        "Longest back-off between two attempts after an error (API server, Prometheus, a failed "
        "revert); it starts at a second and doubles, with jitter."))


@dataclass(frozen=True)
class ExperimentSettings:
    """Timing of one injection experiment, in seconds of cluster time."""

    fault_duration_s: float = setting(120.0, minimum=0.1, maximum=86400, doc=(
        "How long a fault stays applied. Two minutes spans eight Prometheus scrapes at 15 s."))
    sample_every_s: float = setting(15.0, minimum=0.1, maximum=3600, doc=(
        "Steady-state sampling period (a scrape interval)."))
    recovery_s: float = setting(300.0, minimum=0, maximum=86400, doc=(
        "Observation after revert: a violation that shows only in recovery (a pod not coming back) counts."))
    settle_s: float = setting(60.0, minimum=0, maximum=86400, doc="Wait between experiments so the baseline is clean.")


@dataclass(frozen=True)
class PolicySettings:
    strategy: Strategy = setting("rl", doc="How faults are chosen.")
    path: Path | None = setting(None, doc=(
        "Exported policy directory (policy.json + weights.npz); the shipped default when absent."))
    temperature: float = setting(1.0, minimum=0.01, maximum=100, doc=(
        "Softness of the combination of the policy's distribution with anomaly weights: "
        "higher spreads choices, lower follows the policy."))
    anomaly_weight: float = setting(1.0, minimum=0, maximum=10, doc=(
        "Exponent on anomaly weights in the combined distribution (0 ignores anomalies)."))
    adapt: bool = setting(True, doc=(
        "With strategy rl: learn on this cluster. The trained policy is the prior; every outcome (a new "
        "weakness, nothing, refused, already known) updates the cluster's posterior, kept in memory.sqlite "
        "beside findings.path, so the next game day continues where this one stopped and never repeats a "
        "target and fault kind more than 3 times without new evidence (docs/learning.md)."))
