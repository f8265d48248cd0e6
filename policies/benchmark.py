"""The learning benchmark of docs/benchmark-protocol.md: every strategy on the same held-out clusters.

For each held-out seed, every strategy plays one game day of ``budget`` injections on the same
scenario with the same simulation seed; each finding is scored against the scenario's hidden weakness
ids (only here, never in the env). Learning strategies (bandits) are first warmed up on training
clusters, as the RL policy was trained on them. Metrics per strategy: D(t), AUC ratio, T1, T_half,
T_all, recall at B, false findings, blast cost; medians and IQR over seeds, and recall by kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from envs.chaos_env import ChaosClusterEnv
from envs.cluster_under_test import World, WorldFactory
from envs.design_basis import Basis
from envs.faults import FaultKind
from envs.memory import ClusterMemory
from envs.scenarios import HELD_OUT_SETS, Scenario, generate_cluster
from envs.scenarios.scoring import score_symptom
from envs.simulated_clusters import scenario_world, training_worlds
from envs.symptoms import Symptom
from policies.adaptive import AdaptivePolicy, NothingLeftToTry
from policies.base import Decision, Strategy, outcome_of
from policies.combine import combine, sample
from policies.keys import DEFAULT_CACHE, keyed
from policies.registry import make_strategy

Progress = Callable[[str], None]


@dataclass
class EpisodeTrace:
    strategy: str
    seed: int
    k: int
    kinds: dict[str, str]
    """class id -> weakness kind, for the per-kind breakdown."""
    family: str = ""
    discovered: list[int] = field(default_factory=list)
    """D(t) for t = 1..B."""
    found: dict[str, int] = field(default_factory=dict)
    """class id -> injection index (1-based) it was first found at."""
    false_findings: int = 0
    """Findings under design-basis faults that match no weakness of the key."""
    impact: int = 0
    """Findings under faults beyond the design basis: impact, neither a weakness nor a false finding."""
    breach_s: float = 0.0
    max_fruitless: int = 0
    """The most tries of one target and fault kind without new evidence in between (the cap is 3)."""
    stopped: str = ""


def play(env: ChaosClusterEnv, strategy: Strategy, scenario: Scenario, *, seed: int, budget: int,
         anomaly_weight: float = 0.0, temperature: float = 1.0, learn: bool = True,
         memory: ClusterMemory | None = None, trace: EpisodeTrace | None = None) -> EpisodeTrace:
    """One game day of ``budget`` injections. With ``memory`` (and an ``AdaptivePolicy``), the game day
    continues the cluster's memory of earlier ones, and ``trace`` (theirs) goes on counting."""
    obs, info = env.reset(seed=seed, options={"memory": memory})
    rng = np.random.default_rng(seed + 7919)
    if memory is not None and isinstance(strategy, AdaptivePolicy):
        strategy.attach(memory)
    strategy.reset(rng)
    if trace is None:
        trace = EpisodeTrace(strategy.name, seed, len(scenario.weaknesses),
                             {w.class_id: w.kind for w in scenario.weaknesses}, family=scenario.family)
    streaks: dict[tuple[str, str], int] = {}
    offset = len(trace.discovered)
    for t in range(offset + 1, offset + budget + 1):
        decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
        try:
            p = _distribution(strategy, decision, anomaly_weight, temperature)
        except NothingLeftToTry as e:
            trace.stopped = str(e)
            break
        action = sample(p, rng)
        obs, reward, terminated, _, info = env.step(action)
        findings: list[Symptom] = info.get("all_findings", [])
        result = info.get("result")
        for f in findings:
            basis, cid = score_symptom(scenario, f, result.footprint if result is not None else ())
            if basis is Basis.BEYOND:
                trace.impact += 1
            elif cid is None:
                trace.false_findings += 1
            elif cid not in trace.found:
                trace.found[cid] = t
        if result is not None:
            trace.breach_s += result.budget_burned_s
        trace.discovered.append(len(trace.found))
        a = info["action"]
        row = (env.targets[a.target], a.kind.value)
        streaks[row] = 0 if info["findings"] else streaks.get(row, _streak(memory, row)) + 1
        trace.max_fruitless = max(trace.max_fruitless, streaks[row])
        if memory is not None:
            memory.learn(info.get("weaknesses", []))
        if learn:
            strategy.observe(decision, outcome_of(action, result, new_findings=len(info["findings"]),
                                                  refound=len(findings) - len(info["findings"]), reward=reward))
        if terminated:
            break
    return trace


def _distribution(strategy: Strategy, decision: Decision, anomaly_weight: float,
                  temperature: float) -> NDArray[np.float64]:
    if isinstance(strategy, AdaptivePolicy):  # its fused path, as the daemon runs it
        return strategy.distribution(decision, temperature=temperature, anomaly_weight=anomaly_weight)
    p = strategy.probabilities(decision)
    if anomaly_weight > 0 or temperature != 1.0:
        p = combine(p, decision.anomaly, decision.flat_mask, temperature=temperature, anomaly_weight=anomaly_weight)
    return p


def _streak(memory: ClusterMemory | None, row: tuple[str, str]) -> int:
    return 0 if memory is None else memory.streak(row[0], FaultKind(row[1]))


def play_game_days(make_env: Callable[[], ChaosClusterEnv], strategy: Strategy, scenario: Scenario, *, seed: int,
                   days: int, budget: int, anomaly_weight: float = 0.0) -> EpisodeTrace:
    """``days`` game days of ``budget`` injections each on one cluster, the strategy keeping the cluster's
    memory between them (as the daemon does through ``agent/memory.py``); a new simulation each day."""
    memory = ClusterMemory(scenario.name)
    trace: EpisodeTrace | None = None
    for day in range(days):
        memory.game_days += 1
        trace = play(make_env(), strategy, scenario, seed=seed + 104_729 * day, budget=budget,
                     anomaly_weight=anomaly_weight, memory=memory, trace=trace)
        trace.discovered += [len(trace.found)] * (budget * (day + 1) - len(trace.discovered))
    assert trace is not None
    return trace


def _first_at(d: Sequence[int], k: int, budget: int) -> tuple[int, bool]:
    for t, v in enumerate(d, start=1):
        if v >= k:
            return t, False
    return budget, True


def episode_metrics(tr: EpisodeTrace, budget: int) -> dict[str, Any]:
    d = tr.discovered + [tr.discovered[-1] if tr.discovered else 0] * (budget - len(tr.discovered))
    findings = max(len(tr.found), 1)
    out: dict[str, Any] = {"false_findings": tr.false_findings, "blast_cost": tr.breach_s / 60 / findings}
    if tr.k == 0:
        return out
    oracle = sum(min(t, tr.k) for t in range(1, budget + 1))
    t1, c1 = _first_at(d, 1, budget)
    th, ch = _first_at(d, math.ceil(tr.k / 2), budget)
    ta, ca = _first_at(d, tr.k, budget)
    out.update(auc_ratio=sum(d) / oracle, t1=t1, t_half=th, t_all=ta, t1_capped=c1, t_half_capped=ch,
               t_all_capped=ca, recall_at_budget=d[-1] / tr.k)
    return out


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "iqr": float("nan"), "n": 0}
    q1, med, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return {"median": round(float(med), 4), "iqr": round(float(q3 - q1), 4), "n": len(values)}


def summarise(traces: Sequence[EpisodeTrace], budget: int) -> dict[str, Any]:
    per = [episode_metrics(t, budget) for t in traces]
    keys = ("auc_ratio", "t1", "t_half", "t_all", "recall_at_budget", "false_findings", "blast_cost")
    out: dict[str, Any] = {k: _stats([m[k] for m in per if k in m]) for k in keys}
    out["t_all_capped_share"] = round(float(np.mean([m["t_all_capped"] for m in per if "t_all_capped" in m]
                                                    or [0.0])), 3)
    out["false_findings_total"] = int(sum(m["false_findings"] for m in per))
    out["impact_total"] = int(sum(t.impact for t in traces))
    out["max_fruitless"] = int(max((t.max_fruitless for t in traces), default=0))
    kinds: dict[str, list[int]] = {}
    for tr in traces:
        for cid, kind in tr.kinds.items():
            hit = kinds.setdefault(kind, [0, 0])
            hit[1] += 1
            hit[0] += int(cid in tr.found)
    out["recall_by_kind"] = {k: round(f / n, 3) for k, (f, n) in sorted(kinds.items())}
    families: dict[str, list[float]] = {}
    for tr, m in zip(traces, per, strict=True):
        if tr.family and "recall_at_budget" in m:
            families.setdefault(tr.family, []).append(m["recall_at_budget"])
    out["recall_by_family"] = {f: round(float(np.median(v)), 3) for f, v in sorted(families.items())}
    curves = np.array([tr.discovered + [tr.discovered[-1]] * (budget - len(tr.discovered)) for tr in traces
                       if tr.discovered and tr.k > 0], dtype=float)  # controls have nothing to discover
    out["median_curve"] = np.median(curves, axis=0).tolist() if len(curves) else []
    return out


def warm_up(strategy: Strategy, episodes: int, *, budget: int, max_targets: int, seed: int) -> None:
    """Let an online learner see training clusters first, as the RL policy did in training."""
    env = ChaosClusterEnv(training_worlds(), budget=budget, max_targets=max_targets)
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        rng = np.random.default_rng(seed + e)
        strategy.reset(rng)
        for _ in range(budget):
            decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
            p = strategy.probabilities(decision)
            action = sample(p, rng)
            obs, reward, terminated, _, info = env.step(action)
            strategy.observe(decision, outcome_of(action, info.get("result"), new_findings=len(info["findings"]),
                                                  refound=0, reward=reward))
            if terminated:
                break


def run_benchmark(*, seeds: int, budget: int, strategies: Sequence[str], policy_dir: Path | None = None,
                  max_targets: int = 64, warmup_episodes: int = 10, anomaly_weight: float = 1.0,
                  progress: Progress | None = None, first_seed: int = 10_000,
                  clusters: str = "held-out", policies: Mapping[str, Path] | None = None,
                  game_days: int = 1, key_cache: Path | None = DEFAULT_CACHE) -> dict[str, Any]:
    """Every strategy on ``seeds`` clusters of the held-out set ``clusters`` (``HELD_OUT_SETS``).

    ``policies`` adds exported RL policies under names of their own, side by side with ``rl`` (the one in
    ``policy_dir``, the shipped one by default). ``game_days`` > 1 splits ``budget`` over that many game
    days on each cluster, the cluster's memory kept between them."""
    if game_days < 1 or budget % game_days:
        raise ValueError(f"game_days must be >= 1 and divide the budget {budget}, got {game_days}")
    scenarios = keyed([generate_cluster(s, HELD_OUT_SETS[clusters]) for s in range(first_seed, first_seed + seeds)],
                      cache=key_cache, progress=progress)
    made = made_strategies(strategies, policy_dir, policies)
    strategies = tuple(made)
    for name in ("thompson", "linucb"):
        if name in made and warmup_episodes:
            if progress:
                progress(f"warming up {name} on {warmup_episodes} training clusters")
            warm_up(made[name], warmup_episodes, budget=budget, max_targets=max_targets, seed=first_seed * 3)
    traces: dict[str, list[EpisodeTrace]] = {name: [] for name in strategies}
    for i, scenario in enumerate(scenarios):
        for name, strategy in made.items():
            weight = anomaly_weight if learns(name, strategy) else 0.0

            def make_env(scenario: Scenario = scenario, day_budget: int = budget // game_days) -> ChaosClusterEnv:
                return ChaosClusterEnv(_fixed(scenario), budget=day_budget,
                                       max_targets=max(max_targets, _n_targets(scenario)))

            if game_days == 1:
                trace = play(make_env(), strategy, scenario, seed=scenario.seed, budget=budget, anomaly_weight=weight)
            else:
                trace = play_game_days(make_env, strategy, scenario, seed=scenario.seed, days=game_days,
                                       budget=budget // game_days, anomaly_weight=weight)
            traces[name].append(trace)
        if progress:
            progress(f"seed {i + 1}/{len(scenarios)} done")
    report: dict[str, Any] = {
        "protocol": "docs/benchmark-protocol.md", "seeds": seeds, "budget": budget, "first_seed": first_seed,
        "clusters": clusters, "game_days": game_days,
        "policies": {name: str(d) for name, d in (policies or {}).items()},
        "held_out_scenarios": [{"seed": s.seed, "k": len(s.weaknesses), "family": s.family, "control": s.control}
                               for s in scenarios],
        "strategies": {name: summarise(tr, budget) for name, tr in traces.items()},
    }
    ks = [len(s.weaknesses) for s in scenarios if s.weaknesses]
    report["oracle"] = {"auc_ratio": 1.0, "median_k": float(np.median(ks)) if ks else 0.0}
    return report


def made_strategies(strategies: Sequence[str], policy_dir: Path | None,
                     policies: Mapping[str, Path] | None) -> dict[str, Strategy]:
    """The named strategies, then each exported policy of ``policies`` under its own name."""
    made = {name: make_strategy(name, policy_dir=policy_dir) for name in strategies}
    for name, directory in (policies or {}).items():
        made[name] = make_strategy("rl", policy_dir=directory, label=name)
    return made


def learns(name: str, strategy: Strategy) -> bool:
    """The strategies played with the anomaly weighting, as the daemon plays them: the RL policies (also
    those compared under names of their own) and the bandits."""
    return isinstance(strategy, AdaptivePolicy) or name in ("rl", "rl_alone", "thompson", "linucb")


def _fixed(scenario: Scenario) -> WorldFactory:
    """The same scenario and simulation seed for every strategy: a fair comparison."""

    def make(_rng: np.random.Generator) -> World:
        return scenario_world(scenario, seed=scenario.seed)

    return make


def _n_targets(scenario: Scenario) -> int:
    return len(scenario.spec.workloads) + len(scenario.spec.nodes)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget = report["budget"]
    fig, ax = plt.subplots(figsize=(8, 5))
    t = np.arange(1, budget + 1)
    k = report["oracle"]["median_k"]
    ax.plot(t, np.minimum(t, k), "k--", label=f"oracle (K={k:g})")
    for name, s in report["strategies"].items():
        if s["median_curve"]:
            ax.plot(t, s["median_curve"], label=f"{name} (AUC {s['auc_ratio']['median']:.2f})")
    ax.set_xlabel("injections t")
    ax.set_ylabel("distinct weaknesses found D(t), median over seeds")
    ax.set_title(f"Discovery on {report['seeds']} held-out clusters, B = {budget}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables: medians [IQR] over seeds, then recall by weakness kind."""
    cols = ("recall_at_budget", "auc_ratio", "t1", "t_half", "t_all", "blast_cost")
    lines = [f"Held-out clusters ({report.get('clusters', 'held-out')}): {report['seeds']} seeds "
             f"(from {report['first_seed']}), "
             f"budget B = {report['budget']}; median [IQR]. False findings are totals over all seeds.", "",
             "| strategy | " + " | ".join(cols) + " | false findings |",
             "| --- |" + " --- |" * (len(cols) + 1)]
    for name, s in report["strategies"].items():
        cells = [f"{s[c]['median']:.2f} [{s[c]['iqr']:.2f}]" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {s['false_findings_total']} |")
    kinds = sorted({k for s in report["strategies"].values() for k in s["recall_by_kind"]})
    lines += ["", "Recall at B by weakness kind (found / planted, pooled over seeds):", "",
              "| strategy | " + " | ".join(kinds) + " |", "| --- |" + " --- |" * len(kinds)]
    for name, s in report["strategies"].items():
        lines.append(f"| {name} | " + " | ".join(f"{s['recall_by_kind'].get(k, 0):.2f}" for k in kinds) + " |")
    return "\n".join(lines) + "\n"
