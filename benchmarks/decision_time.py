"""Policy decision time in the daemon, with 1,000 targets and no torch imported.

One decision = the per-target features from a cluster snapshot, the action mask (applicability and
the safety guard), the policy's forward pass in numpy, the anomaly combination, the cluster's posterior
(``policies.adaptive``, over a memory of ``--tried`` earlier outcomes, as after several game days), and
the draw. The topology profile is computed once per topology, as in the daemon (its time is reported
apart). ``--tried 0`` measures the policy alone.

    python benchmarks/decision_time.py [--targets 1000] [--decisions 2000] [--tried 300] [--policy DIR]
"""

from __future__ import annotations

import argparse
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # as the daemon runs (agent/cli.py), set before numpy loads

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.actions import full_mask
from envs.cluster import ClusterState, NodeStatus, WorkloadStatus
from envs.faults import FAULT_KINDS
from envs.memory import ActionOutcome, ClusterMemory
from envs.observation import History, global_features, target_features
from envs.profile import profile
from envs.spec import Call, ClusterSpec, LabelSelector, NodeSpec, PodTemplate, ServiceSpec, Workload
from policies.adaptive import AdaptivePolicy
from policies.base import Decision
from policies.combine import choice_distribution, sample
from policies.runtime import RuntimePolicy


def big_cluster(n_targets: int, seed: int = 0) -> ClusterState:
    rng = np.random.default_rng(seed)
    n_nodes = max(1, n_targets // 5)
    n_workloads = n_targets - n_nodes
    nodes = tuple(NodeSpec(f"node-{i}", gpus=8 if i % 10 == 0 else 0) for i in range(n_nodes))
    workloads, services = [], []
    for i in range(n_workloads):
        ns = f"team-{i % 20}"
        calls = tuple(Call(f"team-{j % 20}/Service/svc-{j}", timeout_ms=float(rng.choice([200, 1000])),
                           retries=int(rng.integers(0, 3))) for j in rng.integers(0, n_workloads, 2) if j != i)
        workloads.append(Workload(ns, f"svc-{i}", "Deployment", int(rng.integers(1, 5)),
                                  PodTemplate(labels=(("app", f"svc-{i}"),)), calls=calls))
        services.append(ServiceSpec(ns, f"svc-{i}", LabelSelector((("app", f"svc-{i}"),)), entrypoint=i < 5,
                                    load_rps=100.0))
    spec = ClusterSpec("bench", nodes, tuple(workloads), tuple(services))
    statuses = {w.key: WorkloadStatus(w.key, w.replicas, w.replicas,
                                      tuple((f"node-{int(n)}", 1) for n in rng.integers(0, n_nodes, w.replicas)))
                for w in workloads}
    node_status = {n.key: NodeStatus(n.key, True, True, n.gpus) for n in nodes}
    return ClusterState(spec, statuses, node_status, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--decisions", type=int, default=2000)
    ap.add_argument("--policy", type=Path, default=None)
    ap.add_argument("--tried", type=int, default=300, help="earlier outcomes in the cluster's memory")
    args = ap.parse_args()
    state = big_cluster(args.targets)
    t0 = time.perf_counter()
    prof = profile(state.spec)
    profile_ms = (time.perf_counter() - t0) * 1000
    rng = np.random.default_rng(1)
    memory = ClusterMemory("bench")
    outcomes: tuple[ActionOutcome, ...] = ("nothing", "nothing", "refused", "known", "new")
    for _ in range(args.tried):
        t, k, i = int(rng.integers(len(prof.targets))), int(rng.integers(len(FAULT_KINDS))), int(rng.integers(3))
        memory.record(prof.targets[t], FAULT_KINDS[k], i, outcomes[int(rng.integers(len(outcomes)))])
    policy: object = RuntimePolicy.load(args.policy)
    if args.tried:
        policy = AdaptivePolicy(policy, memory)  # type: ignore[arg-type]
    history = History.from_memory(memory, prof.targets)
    anomaly = {k: float(v) for k, v in zip(prof.targets, rng.exponential(0.3, len(prof.targets)), strict=True)}
    times, posterior = [], []
    for _ in range(args.decisions):
        started = time.perf_counter()
        feats = target_features(prof, state, anomaly, history, None)
        glob = global_features(budget_left=0.5, findings=3, held=None)
        mask = full_mask(prof.applicable, None, can_hold=True, max_targets=len(prof.targets))
        decision = Decision(prof.targets, feats, glob, mask.reshape(len(prof.targets), -1, 3, 2))
        if isinstance(policy, AdaptivePolicy):  # the same as its distribution(), the posterior's part timed apart
            p = choice_distribution(policy.prior, decision, temperature=1.0, anomaly_weight=1.0)
            before_posterior = time.perf_counter()
            p = policy._reweigh(decision, p)
            posterior.append((time.perf_counter() - before_posterior) * 1000)
        else:
            p = choice_distribution(policy, decision, temperature=1.0, anomaly_weight=1.0)
        sample(p, rng)
        times.append((time.perf_counter() - started) * 1000)
    p50, p99 = _p50_p99(times)
    print(f"targets={len(prof.targets)} decisions={len(times)} tried={args.tried} profile_once_ms={profile_ms:.1f} "
          f"p50_ms={p50:.3f} p99_ms={p99:.3f} torch_imported={'torch' in sys.modules}"
          + (" posterior_p50_ms={:.3f} posterior_p99_ms={:.3f}".format(*_p50_p99(posterior)) if posterior else ""))


def _p50_p99(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.99 * len(ordered)) - 1]


if __name__ == "__main__":
    main()
