"""The agent's loop: observe, score anomalies, choose a fault, inject, watch, revert, record.

It drives the same ``ChaosClusterEnv`` the policy was trained in, on a fixed world, so observation,
masks, held faults and the verdict are one code path in training and production. The world's backend
is wrapped in ``SupervisedBackend``: the guard checks every fault and the journal records it before it
is applied. The choice is probabilistic: the strategy's distribution times anomaly weights, sampled.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from agent.audit import AuditJournal
from agent.config import Config
from agent.findings import ExperimentRecord, Finding, FindingStore, FindingStoreError, findings_from_result
from agent.memory import MemoryStore
from agent.safety import SafetyGuard
from agent.supervision import SupervisedBackend
from envs.actions import decode
from envs.chaos_env import ChaosClusterEnv
from envs.cluster_under_test import World
from envs.experiment import ExperimentResult, Timing
from envs.faults import INTENSITY_NAMES
from envs.memory import ClusterMemory
from policies.adaptive import AdaptivePolicy, NothingLeftToTry
from policies.base import Decision, Strategy, outcome_of
from policies.combine import choice_distribution, sample


def timing_of(config: Config) -> Timing:
    e = config.experiment
    return Timing(fault_duration_s=e.fault_duration_s, sample_every_s=e.sample_every_s,
                  recovery_s=e.recovery_s, settle_s=e.settle_s)


@dataclass(frozen=True)
class InjectionEvent:
    """What one iteration did, for progress output and the report."""

    index: int
    action: str
    outcome: str
    detail: str
    new_findings: tuple[Finding, ...]
    decision_ms: float
    result: ExperimentResult | None


@dataclass
class RunResult:
    injections: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)
    """This run's findings by signature, repeats merged."""
    events: list[InjectionEvent] = field(default_factory=list)
    stopped: str = ""
    """Why the run ended before its budget ("" when it used it all)."""
    run_id: str = ""
    experiments: list[ExperimentRecord] = field(default_factory=list)
    """Each experiment as the report draws it (also kept in the store)."""
    warnings: list[str] = field(default_factory=list)
    """What went wrong beside the experiments (the findings store could not be written), one line each."""

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.findings.values(), key=lambda f: (f.injection_index, f.id))
        return {"injections": self.injections, "findings": [f.to_report_dict() for f in ordered],
                **({"stopped": self.stopped} if self.stopped else {})}


@dataclass
class Supervision:
    """What watches over a run: the guard, the journal, the findings store, the cluster's memory."""

    guard: SafetyGuard
    journal: AuditJournal
    store: FindingStore | None = None
    memory: MemoryStore | None = None
    """Where the cluster's memory persists; with it (and ``[policy] adapt``) the game day continues the
    last one on this cluster and learns from every outcome."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    """Names the run's experiments in the store (``chaos-agent report --run``)."""


def _remembering(strategy: Strategy, world: World, config: Config, supervision: Supervision
                 ) -> tuple[Strategy, ClusterMemory | None]:
    """The strategy with the cluster's persisted memory attached, when the policy adapts to the cluster."""
    if supervision.memory is None or not config.policy.adapt or not isinstance(strategy, AdaptivePolicy):
        return strategy, None
    memory = supervision.memory.load(world.spec.name, world.spec)
    memory.game_days += 1
    strategy.attach(memory)
    return strategy, memory


def run_game_day(*, world: World, strategy: Strategy, config: Config, max_injections: int,
                 supervision: Supervision, on_event: Callable[[InjectionEvent], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Up to ``max_injections`` experiments; every fault is reverted when this returns or raises."""
    hands = SupervisedBackend(world.backend, supervision.journal, supervision.guard)
    supervised = World(spec=world.spec, backend=hands, steady=world.steady, anomaly=world.anomaly,
                       label=world.label)
    n_targets = len(world.spec.workloads) + len(world.spec.nodes)
    env = ChaosClusterEnv(lambda _rng: supervised, budget=max_injections, max_targets=max(n_targets, 1),
                          timing=timing_of(config), guard=supervision.guard, warmup_s=(0.0, 0.0),
                          bounds=config.design_basis.bounds())
    seed = config.cluster.simulated.seed
    rng = np.random.default_rng(seed)
    strategy, memory = _remembering(strategy, world, config, supervision)
    strategy.reset(rng)
    out = RunResult(run_id=supervision.run_id)
    try:
        obs, _ = env.reset(seed=seed, options={"run_id": supervision.run_id, "memory": memory})
        for index in range(1, max_injections + 1):
            stop = _why_stop(env, supervision, should_stop)
            if stop:
                out.stopped = stop
                break
            started = time.perf_counter()
            decision = Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)
            try:
                p = choice_distribution(strategy, decision, temperature=config.policy.temperature,
                                        anomaly_weight=config.policy.anomaly_weight)
            except NothingLeftToTry as e:
                out.stopped = str(e)
                break
            action = sample(p, rng)
            decision_ms = (time.perf_counter() - started) * 1000
            obs, reward, _, _, info = env.step(action)
            result: ExperimentResult | None = info["result"]
            new = _record(result, index, out, supervision)
            out.injections = index
            if result is not None:
                supervision.guard.budget.consume(result.budget_burned_s)
            event = InjectionEvent(
                index=index, action=_describe(env, action), outcome=_outcome(result, info),
                detail="" if result is None else result.injection.detail, new_findings=tuple(new),
                decision_ms=decision_ms, result=result,
            )
            out.events.append(event)
            strategy.observe(decision, outcome_of(action, result, new_findings=len(info["findings"]),
                                                  refound=len(info.get("all_findings", [])) - len(info["findings"]),
                                                  reward=reward))
            if memory is not None and supervision.memory is not None:
                memory.learn(info.get("weaknesses", []))
                supervision.memory.save(memory)  # after every injection: a restart loses nothing
            if on_event is not None:
                on_event(event)
    finally:
        env.close()
        hands.revert_all()
    return out


def _why_stop(env: ChaosClusterEnv, supervision: Supervision, should_stop: Callable[[], bool] | None) -> str:
    if should_stop is not None and should_stop():
        return "stopped on request"
    if supervision.guard.kill_switch.is_halted():
        return "halted by the kill switch"
    if supervision.guard.budget.exhausted:
        return f"error budget spent ({supervision.guard.budget.describe()})"
    if not env.anything_allowed:
        return "no fault is allowed by the safety settings on this cluster"
    return ""


def _record(result: ExperimentResult | None, index: int, out: RunResult, supervision: Supervision) -> list[Finding]:
    """Merge this experiment's findings into the run's and the store; journal the new ones."""
    if result is None:
        return []
    now = datetime.now(UTC)
    found = findings_from_result(result, injection_index=index, seen_at=now)
    record = ExperimentRecord.of(result, injection=index, signatures=[f.signature for f in found])
    out.experiments.append(record)
    new = []
    for finding in found:
        known = out.findings.get(finding.signature)
        out.findings[finding.signature] = finding if known is None else known.merged_with(finding)
        if known is None:
            new.append(finding)
            supervision.journal.record_finding(finding.id, injection_id=result.injection.id, target=finding.target,
                                               status=finding.violation, detail=finding.hypothesis)
    _store(supervision, out, found, record, now)
    return new


def _store(supervision: Supervision, out: RunResult, found: list[Finding], record: ExperimentRecord,
           now: datetime) -> None:
    """Keep the experiment and its findings in the store; a store that fails is set aside for the run (the
    run's own result still holds everything), never a reason to stop experimenting with a fault active."""
    store = supervision.store
    if store is None:
        return
    try:
        for finding in found:
            store.upsert(finding)
        store.record_experiment(supervision.run_id, record, now)
    except FindingStoreError as e:
        out.warnings.append(f"{e}; this run's findings are not stored (they are in its summary and --report)")
        supervision.store = None


def _describe(env: ChaosClusterEnv, action: int) -> str:
    a = decode(action)
    hold = " (held)" if a.hold else ""
    return f"{a.kind.value}[{INTENSITY_NAMES[a.intensity]}] on {env.targets[a.target]}{hold}"


def _outcome(result: ExperimentResult | None, info: dict[str, Any]) -> str:
    if result is None:
        return f"skipped: {info.get('skipped', '')}"
    return result.injection.outcome
