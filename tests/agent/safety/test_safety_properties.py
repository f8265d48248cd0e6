"""Properties of the guard over arbitrary settings, cluster states and active faults.

A strategy is modelled as "any sampler that picks only unmasked actions": every unmasked cell is
checked against an oracle written independently of the guard (scalar code, straight from the rules in
docs/safety.md). Adversarial samplers pick masked cells: ``check`` must refuse every one of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safety_clusters import AGENT_NS, active_faults, clusters, safety_settings, targets_of

from agent.config.safety import OPT_IN_LABEL, PROTECTED_NAMESPACES, SafetySettings
from agent.errors import SafetyError
from agent.safety import DryRunRefusal, ErrorBudget, MemoryKillSwitch, SafetyGuard
from envs.cluster import ClusterState, Injection
from envs.faults import CATALOG, FAULT_KINDS, Fault, FaultKind, units_hit
from envs.spec import node_key

LADDER = {FaultKind.POD_KILL, FaultKind.POD_EVICTION, FaultKind.NETWORK_PARTITION}
BYPASS = {FaultKind.POD_KILL, FaultKind.CONTAINER_CRASH, FaultKind.NODE_FAILURE, FaultKind.GPU_DEVICE_FAILURE,
          FaultKind.GPU_MEMORY_PRESSURE}
Case = tuple[SafetySettings, ClusterState, list[Injection]]
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pods_of(state: ClusterState, key: str) -> int:
    w = state.workloads[key]
    return max(sum(c for _, c in w.pods_by_node), w.ready)


def hits(state: ClusterState, fault: Fault) -> dict[str, int]:
    """Oracle: pods of each workload a fault can take down (an upper bound)."""
    kind, i = fault.kind, fault.intensity
    if fault.target in state.workloads:
        n = pods_of(state, fault.target)
        if n == 0:
            return {}
        if kind in LADDER:
            return {fault.target: units_hit(i, CATALOG[kind].ladder[i], n)}
        if kind is FaultKind.CONTAINER_CRASH:
            return {fault.target: 1}
        if kind is FaultKind.GPU_MEMORY_PRESSURE:
            return {fault.target: n}
        return {}
    out = {}
    specs = {w.key: w for w in state.spec.workloads}
    devices = max([n.gpus for n in state.spec.nodes if n.key == fault.target]
                  + [state.nodes[fault.target].gpus_allocatable])
    for key, w in state.workloads.items():
        on = sum(c for n, c in w.pods_by_node if node_key(n) == fault.target)
        if on == 0 or key.split("/")[1] == "DaemonSet":
            continue
        if kind in (FaultKind.NODE_FAILURE, FaultKind.NODE_DRAIN):
            out[key] = on
        elif kind is FaultKind.GPU_DEVICE_FAILURE and key in specs and specs[key].template.gpus > 0:
            out[key] = min(on, units_hit(i, CATALOG[kind].ladder[i], devices))
    return out


def out_of_scope(s: SafetySettings, state: ClusterState, key: str) -> bool:
    ns = key.split("/")[0]
    protected = (ns in PROTECTED_NAMESPACES and ns not in s.allow_namespaces) or ns == AGENT_NS
    spec = next((w for w in state.spec.workloads if w.key == key), None)
    labels = {} if spec is None else {**spec.template.label_map, **dict(spec.labels)}
    return (protected or ns in s.exclude_namespaces or key in s.exclude_targets
            or bool(s.include_namespaces and ns not in s.include_namespaces)
            or (s.opt_in and labels.get(OPT_IN_LABEL) != "true"))


def pdb_headroom(state: ClusterState, key: str) -> int:
    spec = next(w for w in state.spec.workloads if w.key == key)
    status = state.workloads[key]
    room = 10**9
    for pdb in state.spec.pdbs:
        if pdb.namespace != spec.namespace or not pdb.selector.matches(spec.template.label_map):
            continue
        value = pdb.min_available if pdb.min_available is not None else pdb.max_unavailable
        n = math.ceil(int(value[:-1]) * status.desired / 100) if isinstance(value, str) else int(value or 0)
        down = status.desired - status.ready
        room = min(room, status.ready - n if pdb.min_available is not None else n - down)
    return max(0, room)


def violations(s: SafetySettings, state: ClusterState, fault: Fault, active: list[Injection]) -> list[str]:
    """Oracle: every guardrail an injection of ``fault`` now would break."""
    bad = []
    live = [a for a in active if a.outcome in ("applied", "dry_run")]
    if len(live) >= s.max_concurrent_faults:
        bad.append("concurrency")
    if fault.target in {a.fault.target for a in live}:
        bad.append("busy")
    is_node = fault.target in state.nodes
    if (CATALOG[fault.kind].target == "node") != is_node:
        bad.append("target type")
    hit = hits(state, fault)
    if is_node:
        if fault.target in s.exclude_targets:
            bad.append("excluded node")
        if any(out_of_scope(s, state, k) for k in hit):
            bad.append("node hits an out-of-scope workload")
        if s.opt_in and not hit:
            bad.append("node hosts nothing opted in")
    elif out_of_scope(s, state, fault.target):
        bad.append("out of scope")
    for key, h in hit.items():
        w = state.workloads[key]
        allowed = math.floor(s.max_unavailable_share * w.desired + 1e-9)
        if h > 0 and w.desired > 0 and min(w.desired, max(0, w.desired - w.ready) + h) > allowed:
            bad.append(f"blast radius of {key}")
        if s.protect_last_replica and h > 0 and w.ready > 0 and w.ready - h < 1:
            bad.append(f"last replica of {key}")
        bypass = fault.kind in BYPASS or (fault.kind is FaultKind.NODE_DRAIN and fault.intensity == 2)
        daemonset = key.split("/")[1] == "DaemonSet"
        if s.respect_pdb_for_kills and bypass and not daemonset and h > pdb_headroom(state, key):
            bad.append(f"PDB of {key}")
    return bad


def guard_for(s: SafetySettings) -> SafetyGuard:
    return SafetyGuard(s, agent_namespace=AGENT_NS, kill_switch=MemoryKillSwitch())


@st.composite
def scenarios(draw: st.DrawFn) -> Case:
    state = draw(clusters())
    return draw(safety_settings()), state, draw(active_faults(state))


@PROPERTY
@given(scenarios())
def test_every_unmasked_action_keeps_every_guardrail(case: Case) -> None:
    s, state, active = case
    guard = guard_for(s)
    targets = targets_of(state)
    mask = guard.mask(state, targets, active)
    assert mask.shape == (len(targets), len(FAULT_KINDS), 3) and mask.dtype == np.bool_
    for t, k, i in zip(*np.nonzero(mask), strict=True):
        fault = Fault(FAULT_KINDS[k], int(i), targets[t])
        assert violations(s, state, fault, active) == [], fault.describe()
        assert guard.explain(state, fault, active) is None
        if s.dry_run == "plan":
            with pytest.raises(DryRunRefusal, match="dry_run"):
                guard.check(state, fault, active)
        else:
            guard.check(state, fault, active)
            guard_for(s).check(state, fault, active)


@PROPERTY
@given(scenarios(), st.data())
def test_an_adversarial_choice_of_a_masked_action_is_refused(
        case: Case, data: st.DataObject) -> None:
    """A sampler that ignores the mask (favouring protected targets): the daemon's check refuses it."""
    s, state, active = case
    guard = guard_for(s)
    targets = targets_of(state)
    mask = guard.mask(state, targets, active)
    masked = list(zip(*np.nonzero(~mask), strict=True))
    if not masked:
        return
    protected_first = sorted(masked, key=lambda c: targets[c[0]].split("/")[0] not in (*PROTECTED_NAMESPACES,
                                                                                      AGENT_NS))
    t, k, i = data.draw(st.sampled_from(protected_first[:5] + masked))
    fault = Fault(FAULT_KINDS[k], int(i), targets[t])
    assert guard.explain(state, fault, active)
    fresh = guard_for(s)  # the daemon's check runs on a guard that may never have built this mask
    assert fresh.explain(state, fault, active) == guard.explain(state, fault, active)
    with pytest.raises(SafetyError, match="refused") as refused:
        fresh.check(state, fault, active)
    assert not isinstance(refused.value, DryRunRefusal)


@PROPERTY
@given(scenarios())
def test_the_mask_is_exactly_the_oracle_on_the_safety_rules(
        case: Case) -> None:
    """The guard masks no more than the oracle plus the applicability rules: it does not over-mask."""
    s, state, active = case
    guard = guard_for(s)
    targets = targets_of(state)
    mask = guard.mask(state, targets, active)
    specs = {w.key: w for w in state.spec.workloads}
    for t, target in enumerate(targets):
        for k, kind in enumerate(FAULT_KINDS):
            for i in range(3):
                fault = Fault(kind, i, target)
                expected = not violations(s, state, fault, active) and applies(state, specs, fault)
                assert mask[t, k, i] == expected, (fault.describe(), guard.explain(state, fault, active))


def applies(state: ClusterState, specs: dict, fault: Fault) -> bool:
    needs = {FaultKind.GPU_DEVICE_FAILURE: "gpu_node", FaultKind.GPU_MEMORY_PRESSURE: "gpu",
             FaultKind.DATA_DRIFT: "pipeline", FaultKind.CORRUPTED_ROWS: "pipeline",
             FaultKind.DELAYED_INGESTION: "pipeline"}.get(fault.kind)
    if fault.target in state.nodes:
        gpus = max([n.gpus for n in state.spec.nodes if n.key == fault.target]
                   + [state.nodes[fault.target].gpus_allocatable])
        return needs != "gpu_node" or gpus > 0
    spec = specs.get(fault.target)
    if needs == "pipeline":
        return spec is not None and spec.pipeline is not None
    if pods_of(state, fault.target) == 0:
        return False
    return needs != "gpu" or (spec is not None and spec.template.gpus > 0)


@PROPERTY
@given(scenarios(), st.data())
def test_a_game_day_of_unmasked_choices_never_exceeds_the_limits(
        case: Case, data: st.DataObject) -> None:
    """Any sampler within the mask, over several steps with faults held: slots and budget hold."""
    s, state, _ = case
    budget = ErrorBudget(s.error_budget)
    guard = SafetyGuard(s, agent_namespace=AGENT_NS, kill_switch=MemoryKillSwitch(), budget=budget)
    targets = targets_of(state)
    active: list[Injection] = []
    for step in range(6):
        mask = guard.mask(state, targets, active)
        allowed = list(zip(*np.nonzero(mask), strict=True))
        if not allowed:
            break
        t, k, i = data.draw(st.sampled_from(allowed))
        fault = Fault(FAULT_KINDS[k], int(i), targets[t])
        assert violations(s, state, fault, active) == []
        active.append(Injection(f"s{step}", fault, "dry_run" if s.dry_run == "plan" else "applied"))
        assert len(active) <= s.max_concurrent_faults
        assert len({a.fault.target for a in active}) == len(active)
        if data.draw(st.booleans()):
            active.pop(data.draw(st.integers(0, len(active) - 1)))  # reverted
        budget.consume(data.draw(st.sampled_from([0.0, 30.0, 600.0])))
        if budget.exhausted:
            assert not guard.mask(state, targets, active).any()
            break
