"""The safety guard's mask over 1,000 targets: on a new topology, on a new state of a known topology, and
again on a known state (the daemon asks for the mask of one state several times).

Per-target facts are gathered once per topology and once per state, then the mask is broadcasting;
these are the three costs. Medians (and the slowest run) over ``--repeat`` runs, each on a freshly built
cluster so that nothing is cached from the previous run:

    python benchmarks/safety_mask.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.config.safety import SafetySettings
from agent.safety import MemoryKillSwitch, SafetyGuard
from envs.cluster import ClusterState, Injection
from envs.faults import Fault, FaultKind
from tests.agent.safety.safety_clusters import AGENT_NS, W, cluster, targets_of


def thousand_targets() -> ClusterState:
    """200 nodes (every tenth with 2 GPUs) and 800 workloads across four namespaces, some with PDBs."""
    nodes = [(f"n{i}", 2 if i % 10 == 0 else 0) for i in range(200)]
    namespaces = ["shop", "ml", "data", "kube-system"]
    workloads = [W(namespaces[i % 4], f"w{i}", 3, on=((f"n{i % 200}", 2), (f"n{(i + 7) % 200}", 1)),
                   gpus=int(i % 10 == 0), pipeline=i % 5 == 0, min_available=2 if i % 3 == 0 else None)
                 for i in range(800)]
    return cluster(workloads, nodes)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def one_run() -> dict[str, float]:
    state = thousand_targets()
    targets = targets_of(state)
    guard = SafetyGuard(SafetySettings(max_unavailable_share=0.5, protect_last_replica=True,
                                       respect_pdb_for_kills=True), agent_namespace=AGENT_NS,
                        kill_switch=MemoryKillSwitch())
    active = [Injection("a", Fault(FaultKind.POD_KILL, 0, targets[1]), "applied")]
    later = ClusterState(state.spec, {k: replace(w, ready=w.ready - 1) for k, w in state.workloads.items()},
                         state.nodes, 15.0)
    return {
        "new topology": timed(lambda: guard.mask(state, targets, active)),
        "new state": timed(lambda: guard.mask(later, targets, active)),
        "known state": timed(lambda: guard.mask(later, targets, active)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.repeat)]
    print(f"| mask at 1,000 targets | median | slowest of {args.repeat} |")
    print("| --- | --- | --- |")
    for stage in runs[0]:
        times = [r[stage] * 1000 for r in runs]
        print(f"| {stage} | {statistics.median(times):.3f} ms | {max(times):.3f} ms |")


if __name__ == "__main__":
    main()
