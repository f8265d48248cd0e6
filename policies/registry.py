"""Every strategy by name: the explicit registry the daemon, the CLI and the benchmark use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from policies.bandits import LinearThompson, LinUCB
from policies.base import Strategy
from policies.baselines import IncidentWeighted, PodKill, RoundRobin, UniformRandom
from policies.genetic import GeneticSearch
from policies.runtime import RuntimePolicy
from policies.static_rules import StaticRules


class AnomalyWeighted(UniformRandom):
    """Uniform over allowed actions; the anomaly weighting in ``policies.combine`` does the rest."""

    name = "anomaly_weighted"


def make_strategy(name: str, *, policy_dir: Path | None = None) -> Strategy:
    factories: dict[str, Callable[[], Strategy]] = {
        "rl": lambda: RuntimePolicy.load(policy_dir),
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
