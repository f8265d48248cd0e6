"""What the privileged teacher finds on the held-out clusters: a ceiling for the policy that imitates it.

The teacher knows each cluster's answer key and plays the distribution it labels states with
(``policies.rl.teacher``): every pending weakness an equal share, spread over the actions that showed
it, surest and gentlest first. With tens of weaknesses per cluster, some only in some states or with
some chance, even it does not find all of them within the budget; the RL policy sees only the
observation and is measured against this.

    python benchmarks/teacher_ceiling.py [--seeds 30] [--budget 50]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.chaos_env import ChaosClusterEnv
from envs.scenarios import HELD_OUT, Scenario, generate_cluster
from envs.scenarios.scoring import score_symptom
from envs.simulated_clusters import scenario_world
from policies.keys import keyed
from policies.rl.teacher import imitation_target, routes


def teacher_game_day(scenario: Scenario, budget: int) -> float:
    n = len(scenario.spec.workloads) + len(scenario.spec.nodes)
    env = ChaosClusterEnv(lambda _rng: scenario_world(scenario, seed=scenario.seed), budget=budget,
                          max_targets=max(64, n))
    env.reset(seed=scenario.seed)
    rng = np.random.default_rng(scenario.seed + 7919)
    found: set[str] = set()
    held = None
    for _ in range(budget):
        mask = env.action_masks()
        pending = routes(env, scenario, found, held)
        if pending:
            p = imitation_target(pending).astype(np.float64) * mask
            action = int(rng.choice(p.size, p=p / p.sum()))
        else:
            action = int(rng.choice(np.flatnonzero(mask)))
        _, _, done, _, info = env.step(action)
        result = info.get("result")
        for f in info.get("all_findings", []):
            _, cid = score_symptom(scenario, f, result.footprint if result is not None else ())
            if cid is not None:
                found.add(cid)
        held = result.injection.fault if result is not None and result.held else None
        if done:
            break
    return len(found) / max(len(scenario.weaknesses), 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=10_000)
    args = ap.parse_args()
    scenarios = keyed([generate_cluster(s, HELD_OUT) for s in range(args.first_seed, args.first_seed + args.seeds)])
    recall = [teacher_game_day(s, args.budget) for s in scenarios]
    q1, med, q3 = np.percentile(recall, [25, 50, 75])
    print(json.dumps({"seeds": args.seeds, "budget": args.budget, "recall_median": round(float(med), 3),
                      "recall_iqr": round(float(q3 - q1), 3), "recall_mean": round(float(np.mean(recall)), 3),
                      "k_median": float(np.median([len(s.weaknesses) for s in scenarios]))}, indent=2))


if __name__ == "__main__":
    main()
