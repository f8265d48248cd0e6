"""Simulator speed: injection episodes per second on one core.

An injection episode is what one env step costs the simulator: the steady-state check, inject, watch
the fault (sampling every 15 s), revert, watch the recovery (up to 300 s), and the verdict. Measured on
the default scenario (ml-platform) and on a generated 200-service, 100-node cluster, with uniformly
random single faults, one fresh cluster per scenario.

    python benchmarks/sim_speed.py [--episodes 2000] [--repeats 5] [--cpu-time]

``--cpu-time`` counts this process's CPU seconds instead of wall-clock time: on a machine shared with
other work it measures the simulator, not the queue for a core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from envs.experiment import Timing, run_experiment, wait_for_steady_state
from envs.faults import FAULT_KINDS, Fault
from envs.profile import profile
from envs.scenarios import GeneratorParams, builtin, generate
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec

BIG = GeneratorParams(name_pool="held_out", entry_points=4, services=150, nodes=90, gpu_nodes=10, zones=3,
                      pipelines=8, training_jobs=6, shallow=4, intensity=4, two_fault=4, state_dependent=2,
                      flaky=2, ml=6, decoys=6)


CLOCK = time.perf_counter


def episodes_per_second(spec: ClusterSpec, episodes: int, seed: int) -> float:
    sim = SimulatedCluster(spec, seed=seed)
    prof = profile(spec)
    rng = np.random.default_rng(seed)
    allowed = np.argwhere(prof.applicable)
    timing = Timing()
    started = CLOCK()
    for i in range(episodes):
        t, k = allowed[rng.integers(len(allowed))]
        kind = FAULT_KINDS[int(k)]
        fault = Fault(kind, int(rng.integers(3)), prof.targets[int(t)])
        fault = Fault(fault.kind, fault.intensity, fault.target, timing.duration_of(kind, fault.magnitude))
        before = wait_for_steady_state(spec, sim, sim, timing)
        if before is None:
            sim.wait(600)
            continue
        run_experiment(spec=spec, backend=sim, steady=sim, fault=fault, injection_id=f"b{i}", timing=timing,
                       before=before)
    return episodes / (CLOCK() - started)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cpu-time", action="store_true", help="count CPU seconds of this process, not wall time")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    cases = {"ml-platform (default)": builtin("ml-platform", 0).spec, "generated 200-service": generate(1, BIG).spec}
    for name, spec in cases.items():
        services = len(spec.services)
        rates = [episodes_per_second(spec, args.episodes if "default" in name else max(args.episodes // 10, 50), r)
                 for r in range(args.repeats)]
        print(f"{name}: {len(spec.workloads)} workloads, {services} services, {len(spec.nodes)} nodes: "
              f"median {statistics.median(rates):.0f} episodes/s (min {min(rates):.0f}, max {max(rates):.0f}, "
              f"{args.repeats} runs)")


if __name__ == "__main__":
    main()
