"""Every strategy by name: the explicit registry the daemon, the CLI and the benchmark use."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from policies.adaptive import AdaptivePolicy
from policies.bandits import LinearThompson, LinUCB
from policies.base import Strategy
from policies.baselines import IncidentWeighted, PodKill, RoundRobin, UniformRandom
from policies.genetic import GeneticSearch
from policies.runtime import RuntimePolicy
from policies.static_rules import StaticRules


class AnomalyWeighted(UniformRandom):
    """Uniform over allowed actions; the anomaly weighting in ``policies.combine`` does the rest."""

    name = "anomaly_weighted"


def make_strategy(name: str, *, policy_dir: Path | None = None, adapt: bool = True,
                  label: str | None = None) -> Strategy:
    """``adapt``: the RL policy as the prior of a per-cluster posterior (``policies.adaptive``);
    ``label``: the name it goes by (two exported policies side by side in a benchmark)."""

    def rl() -> Strategy:
        policy = RuntimePolicy.load(policy_dir)
        if label:
            policy = dataclasses.replace(policy, name=label)
        return AdaptivePolicy(policy) if adapt else policy

    factories: dict[str, Callable[[], Strategy]] = {
        "rl": rl,
        "rl_alone": lambda: make_strategy("rl", policy_dir=policy_dir, adapt=False, label="rl_alone"),
        "anomaly_weighted": AnomalyWeighted,
        "pod_kill": PodKill,
        "uniform_random": UniformRandom,
        "incident_weighted": IncidentWeighted,
        "round_robin": RoundRobin,
        "static_rules": StaticRules,
        "genetic": GeneticSearch,
        "thompson": LinearThompson,
        "linucb": LinUCB,
    }
    if name not in factories:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(factories)}")
    return factories[name]()


BENCHMARK_STRATEGIES = (
    "pod_kill", "uniform_random", "incident_weighted", "round_robin", "static_rules", "genetic", "thompson", "linucb",
    "rl",
)
