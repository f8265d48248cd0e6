"""The agent's loop: observe, score anomalies, choose a fault, inject, watch, revert, record.

It drives the same ``ChaosClusterEnv`` the policy was trained in, on a fixed world (the embedded
simulator, or a real cluster through its backend), so observation, masks, held faults and the verdict
are one code path in training and production. The choice is probabilistic: the strategy's
distribution combined with anomaly weights, sampled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.config import Config
from envs.actions import decode
from envs.chaos_env import ChaosClusterEnv, StepFinding
from envs.cluster import ActionGuard
from envs.experiment import ExperimentResult, Timing
from envs.faults import INTENSITY_NAMES
from envs.verdict import severity_label
from envs.world import World
from policies.base import Decision, Strategy, outcome_of
from policies.combine import combine, sample


def timing_of(config: Config) -> Timing:
    e = config.experiment
    return Timing(fault_duration_s=e.fault_duration_s, sample_every_s=e.sample_every_s,
                  recovery_s=e.recovery_s, settle_s=e.settle_s)


@dataclass(frozen=True)
class InjectionEvent:
    """What one iteration did, for progress output, the journal and the report."""

    index: int
    action: str
    outcome: str
    detail: str
    new_findings: tuple[dict[str, Any], ...]
    decision_ms: float
    result: ExperimentResult | None


@dataclass
class RunResult:
    injections: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    events: list[InjectionEvent] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"injections": self.injections, "findings": self.findings}


def finding_report(f: StepFinding, result: ExperimentResult, *, number: int, injection_index: int) -> dict[str, Any]:
    fault = result.injection.fault
    evidence = [
        {"signal": b.signal, "threshold": b.threshold, "before": b.before, "worst": b.worst, "after": b.after,
         "time_to_detect_s": b.detect_s, "time_to_recover_s": b.recover_s, "breach_s": b.breach_s}
        for b in result.breaches if b.violation == f.violation
    ]
    return {
        "id": f"F-{number:03d}",
        "fault": {"family": fault.family, "kind": fault.kind.value, "intensity": INTENSITY_NAMES[fault.intensity]},
        "target": f.target,
        "affected": list(f.affected),
        "violation": f.violation,
        "severity": severity_label(f.severity),
        "severity_score": f.severity,
        "evidence": evidence,
        "injection_index": injection_index,
        "concurrent_faults": [
            {"family": i.fault.family, "kind": i.fault.kind.value, "intensity": INTENSITY_NAMES[i.fault.intensity],
             "target": i.fault.target} for i in result.concurrent
        ],
    }


def run_game_day(*, world: World, strategy: Strategy, config: Config, max_injections: int,
                 guard: ActionGuard | None = None, on_event: Callable[[InjectionEvent], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Run up to ``max_injections`` experiments; every fault is reverted when it returns or raises."""
    n_targets = len(world.spec.workloads) + len(world.spec.nodes)
    env = ChaosClusterEnv(lambda _rng: world, budget=max_injections, max_targets=max(n_targets, 1),
                          timing=timing_of(config), guard=guard, warmup_s=(0.0, 0.0))
    seed = config.cluster.simulated.seed
    rng = np.random.default_rng(seed)
    strategy.reset(rng)
    out = RunResult()
    try:
        obs, _ = env.reset(seed=seed)
        for index in range(1, max_injections + 1):
            if should_stop is not None and should_stop():
                break
            started = time.perf_counter()
            decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
            p = combine(strategy.probabilities(decision), decision.anomaly, decision.flat_mask,
                        temperature=config.policy.temperature, anomaly_weight=config.policy.anomaly_weight)
            action = sample(p, rng)
            decision_ms = (time.perf_counter() - started) * 1000
            obs, reward, terminated, _, info = env.step(action)
            result: ExperimentResult | None = info["result"]
            new = []
            for f in info["findings"]:
                assert result is not None
                new.append(finding_report(f, result, number=len(out.findings) + 1, injection_index=index))
                out.findings.append(new[-1])
            out.injections = index
            event = InjectionEvent(
                index=index, action=_describe(env, action), outcome=_outcome(result, info),
                detail="" if result is None else result.injection.detail, new_findings=tuple(new),
                decision_ms=decision_ms, result=result,
            )
            out.events.append(event)
            strategy.observe(decision, outcome_of(action, result, new_findings=len(new),
                                                  refound=len(info.get("all_findings", [])) - len(new), reward=reward))
            if on_event is not None:
                on_event(event)
            if terminated:
                break
    finally:
        env.close()
    return out


def _describe(env: ChaosClusterEnv, action: int) -> str:
    a = decode(action)
    hold = " (held)" if a.hold else ""
    return f"{a.kind.value}[{INTENSITY_NAMES[a.intensity]}] on {env.targets[a.target]}{hold}"


def _outcome(result: ExperimentResult | None, info: dict[str, Any]) -> str:
    if result is None:
        return f"skipped: {info.get('skipped', '')}"
    return result.injection.outcome
