"""Does the generator signpost its weaknesses? A static rule on 8 manifest features against the answer key.

A workload is *weak* when a fault on it (or on the node it is pinned to) surfaces a weakness of the
scenario's answer key. The rule, written by hand the way a reviewer reads manifests, flags a workload
that fronts the internet, is called without a fallback, is a StatefulSet without volumes, is a job that
checkpoints more rarely than the progress it may lose, is a pipeline stage with no drift monitor or no
schema check on its path or a tight freshness bound, or is called with a very long timeout. On a
generator that signposts, such a rule finds every weak workload with few false alarms: the policy can
learn to read the signs instead of the system. Also reported: a logistic regression on all 36 static
features, fitted on training clusters and scored on held-out ones (what a static reader can learn).
Keys come from the benchmark's cache (``var/cache/answer-keys``), swept where missing.

    python benchmarks/signposting.py [--seeds 30] [--first-seed 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.profile import STATIC_FEATURES, profile
from envs.scenarios import HELD_OUT, TRAINING, Scenario, generate_cluster
from envs.spec import node_key
from policies.keys import DEFAULT_CACHE, keyed

RULE_FEATURES = (
    "backs_entrypoint", "caller_without_fallback", "stateful_without_storage", "checkpoint_vs_loss_bound",
    "drift_monitor_on_path", "schema_check_on_path", "staleness_bound_log", "min_caller_timeout_log",
)
_C = {name: STATIC_FEATURES.index(name) for name in STATIC_FEATURES}


def rule(row: NDArray[np.float32]) -> bool:
    """The hand-written rule on the 8 ``RULE_FEATURES``."""
    is_pipeline = row[_C["is_pipeline"]] > 0
    return bool(
        row[_C["backs_entrypoint"]] > 0
        or row[_C["caller_without_fallback"]] > 0
        or row[_C["stateful_without_storage"]] > 0
        or (row[_C["is_training"]] > 0 and row[_C["checkpoint_vs_loss_bound"]] > 0.5)
        or (is_pipeline and row[_C["drift_monitor_on_path"]] == 0)
        or (is_pipeline and row[_C["schema_check_on_path"]] == 0)
        or (is_pipeline and row[_C["staleness_bound_log"]] < math.log10(1800) / 5)
        or row[_C["min_caller_timeout_log"]] >= math.log10(4000) / 4
    )


def weak_workloads(scenario: Scenario) -> set[str]:
    """The workloads the key's weaknesses live in (a generated key names them: ``culprit``); for a planted
    key, those a fault on which (or on the nodes they are pinned to) surfaces a weakness."""
    spec = scenario.spec
    workloads = {w.key: w for w in spec.workloads}
    if scenario.weaknesses and all(w.culprit for w in scenario.weaknesses):
        return {w.culprit for w in scenario.weaknesses if w.culprit in workloads}
    pinned: dict[str, set[str]] = {}
    for w in spec.workloads:
        for term in w.template.node_affinity:
            for req in term:
                if req.operator == "In" and req.key == "kubernetes.io/hostname":
                    pinned[w.key] = {node_key(h) for h in req.values}
    out: set[str] = set()
    for weakness in scenario.weaknesses:
        targets = {r.target for t in weakness.surfacing_triggers for r in t.requires}
        out |= {t for t in targets if t in workloads}
        nodes = {t for t in targets if t.startswith("Node/")}
        if nodes and not (targets & set(workloads)):
            out |= {w for w, hosts in pinned.items() if hosts <= nodes}
    return out


def dataset(scenarios: list[Scenario]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    rows, labels = [], []
    for s in scenarios:
        if s.control:
            continue
        prof = profile(s.spec)
        weak = weak_workloads(s)
        for w in s.spec.workloads:
            rows.append(prof.static[prof.index[w.key]])
            labels.append(w.key in weak)
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=bool)


def precision_recall(flags: NDArray[np.bool_], labels: NDArray[np.bool_]) -> dict[str, float]:
    tp = int((flags & labels).sum())
    return {"precision": round(tp / max(int(flags.sum()), 1), 3), "recall": round(tp / max(int(labels.sum()), 1), 3),
            "weak": int(labels.sum()), "workloads": len(labels), "flagged": int(flags.sum())}


def logistic(x: NDArray[np.float32], y: NDArray[np.bool_], steps: int = 3000) -> NDArray[np.float64]:
    """Plain gradient descent on the log loss, L2 0.01: weights over the static features plus a bias."""
    xb = np.concatenate([x, np.ones((len(x), 1))], axis=1).astype(np.float64)
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        w -= 0.5 * (xb.T @ (p - y) / len(y) + 0.01 * w)
    return w


def best_static(train: list[Scenario], test: list[Scenario]) -> dict[str, float]:
    """The logistic regression's precision at the threshold that keeps recall >= 0.95 on the test set."""
    xt, yt = dataset(train)
    w = logistic(xt, yt)
    x, y = dataset(test)
    score = np.concatenate([x, np.ones((len(x), 1))], axis=1) @ w
    order = np.argsort(-score)
    hits = np.cumsum(y[order])
    need = math.ceil(0.95 * y.sum())
    k = int(np.searchsorted(hits, need)) + 1
    return {"precision_at_recall_0.95": round(need / k, 3), "auc": round(_auc(score, y), 3)}


def _auc(score: NDArray[np.float64], y: NDArray[np.bool_]) -> float:
    ranks = np.argsort(np.argsort(score)) + 1
    pos = y.sum()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / max(pos * (len(y) - pos), 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=10_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    test = keyed([generate_cluster(s, HELD_OUT) for s in range(args.first_seed, args.first_seed + args.seeds)],
                 cache=DEFAULT_CACHE)
    train = keyed([generate_cluster(s, TRAINING) for s in range(args.seeds)], cache=DEFAULT_CACHE)
    x, y = dataset(test)
    flags = np.array([rule(r) for r in x], dtype=bool)
    report = {"rule": precision_recall(flags, y), "logistic": best_static(train, test),
              "seeds": args.seeds, "first_seed": args.first_seed}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
