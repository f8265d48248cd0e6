"""The guard's rules one by one, on hand-built clusters, with the reasons it gives."""

from __future__ import annotations

import numpy as np
import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config.parse import simulated_defaults
from agent.config.safety import SafetySettings
from agent.errors import ConfigError, SafetyError
from agent.safety import ErrorBudget, MemoryKillSwitch, SafetyGuard
from agent.safety.reach import KIND_INDEX, REACH, workload_hits
from envs.cluster import ClusterState, Injection
from envs.faults import CATALOG, FAULT_KINDS, Fault, FaultKind, units_hit

K = FaultKind
WEB = "shop/Deployment/web"


def loose(**kw: object) -> SafetySettings:
    """The simulator's profile (every rule but scope off) with ``kw`` on top: one rule at a time."""
    return SafetySettings(**{**simulated_defaults(SafetySettings), **kw})  # type: ignore[arg-type]


def guard(**kw: object) -> SafetyGuard:
    return SafetyGuard(loose(**kw), agent_namespace=AGENT_NS, kill_switch=MemoryKillSwitch())


def allowed(g: SafetyGuard, state: ClusterState, kind: FaultKind, intensity: int, target: str,
            active: tuple[Injection, ...] = ()) -> bool:
    targets = targets_of(state)
    m = g.mask(state, targets, list(active))
    verdict = bool(m[targets.index(target), KIND_INDEX[kind], intensity])
    assert (g.explain(state, Fault(kind, intensity, target), list(active)) is None) == verdict
    return verdict


def web(replicas: int = 4, **kw: object) -> W:
    on = kw.pop("on", (("n1", replicas // 2), ("n2", replicas - replicas // 2)))
    return W("shop", "web", replicas, on=on, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind_says_what_it_needs_and_breaks(kind: FaultKind) -> None:
    reach = REACH[kind]
    assert reach.pods_down.startswith("node") == (CATALOG[kind].target == "node")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_workload_hits_are_units_hit_broadcast(kind: FaultKind) -> None:
    pods = np.arange(0, 40)
    hits = workload_hits(pods)[:, KIND_INDEX[kind], :]
    for n in pods:
        for i in range(3):
            ladder = units_hit(i, CATALOG[kind].ladder[i], int(n))
            expected = {"ladder": ladder, "one": min(1, n), "all": n}.get(REACH[kind].pods_down, 0)
            assert hits[n, i] == expected, (kind, n, i)


def test_protected_namespaces_and_the_agent_namespace_are_never_targeted() -> None:
    state = cluster([web(), W("kube-system", "dns", 2, on=(("n1", 2),)),
                     W(AGENT_NS, "agent", 2, on=(("n2", 2),))])
    g = guard()
    assert allowed(g, state, K.POD_KILL, 0, WEB)
    assert not allowed(g, state, K.POD_KILL, 0, "kube-system/Deployment/dns")
    assert not allowed(g, state, K.POD_KILL, 0, f"{AGENT_NS}/Deployment/agent")
    assert "protected" in str(g.explain(state, Fault(K.POD_KILL, 0, "kube-system/Deployment/dns"), []))
    # Node faults hit every pod on the node: n1 hosts kube-system's Deployment, n2 the agent.
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n1")
    assert not allowed(g, state, K.NODE_DRAIN, 0, "Node/n2")
    lifted = guard(allow_namespaces=("kube-system",))
    assert allowed(lifted, state, K.POD_KILL, 0, "kube-system/Deployment/dns")
    assert allowed(lifted, state, K.NODE_FAILURE, 0, "Node/n1")
    assert not allowed(lifted, state, K.NODE_FAILURE, 0, "Node/n2")


def test_the_agent_namespace_cannot_be_allowed() -> None:
    with pytest.raises(ConfigError, match="agent's own namespace"):
        SafetyGuard(SafetySettings(allow_namespaces=(AGENT_NS,)), agent_namespace=AGENT_NS)


def test_system_daemonsets_on_a_node_are_tolerated() -> None:
    state = cluster([web(), W("kube-system", "kube-proxy", 2, on=(("n1", 1), ("n2", 1)), kind="DaemonSet")])
    g = guard()
    assert allowed(g, state, K.NODE_FAILURE, 2, "Node/n1")
    assert not allowed(g, state, K.POD_KILL, 0, "kube-system/DaemonSet/kube-proxy")


def test_include_exclude_and_excluded_targets() -> None:
    state = cluster([web(), W("ml", "train", 2, on=(("n2", 2),))])
    assert not allowed(guard(include_namespaces=("ml",)), state, K.POD_KILL, 0, WEB)
    assert allowed(guard(include_namespaces=("ml",)), state, K.POD_KILL, 0, "ml/Deployment/train")
    assert not allowed(guard(exclude_namespaces=("shop",)), state, K.POD_KILL, 0, WEB)
    g = guard(exclude_targets=(WEB, "Node/n1"))
    assert not allowed(g, state, K.POD_KILL, 0, WEB)
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n1")
    # n2 hosts pods of the excluded web: a node fault would touch it.
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n2")
    assert "exclude_targets" in str(g.explain(state, Fault(K.NODE_FAILURE, 0, "Node/n2"), []))
    # include_namespaces reaches nodes too: n2 hosts shop pods.
    assert not allowed(guard(include_namespaces=("ml",)), state, K.NODE_FAILURE, 0, "Node/n2")


def test_excluded_fault_kinds_are_never_allowed_anywhere() -> None:
    state = cluster([web(), W("ml", "train", 2, on=(("n2", 2),))])
    g = guard(exclude_faults=("node_failure", "pod_kill"))
    for target in ("Node/n1", "Node/n2"):
        for i in range(3):
            assert not allowed(g, state, K.NODE_FAILURE, i, target)
        assert allowed(g, state, K.NODE_DRAIN, 0, target)
    assert not allowed(g, state, K.POD_KILL, 2, WEB)
    assert allowed(g, state, K.POD_EVICTION, 0, WEB)
    assert "safety.exclude_faults" in str(g.explain(state, Fault(K.POD_KILL, 0, WEB), []))


def test_opt_in_covers_workloads_and_the_nodes_they_run_on() -> None:
    state = cluster([web(opted_in=True, on=(("n1", 2), ("n2", 2))), W("ml", "train", 1, on=(("n2", 1),))],
                    nodes=(("n1", 0), ("n2", 0), ("n3", 0)))
    g = guard(opt_in=True)
    assert allowed(g, state, K.POD_KILL, 0, WEB)
    assert not allowed(g, state, K.POD_KILL, 0, "ml/Deployment/train")
    assert allowed(g, state, K.NODE_FAILURE, 0, "Node/n1")
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n2")  # also hosts the train pods
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n3")  # hosts nothing opted in


def test_faults_apply_only_where_they_can() -> None:
    state = cluster([web(), W("ml", "train", 2, on=(("gpu", 2),), gpus=1),
                     W("data", "etl", 1, on=(("n1", 1),), pipeline=True), W("shop", "idle", 0)],
                    nodes=(("n1", 0), ("n2", 0), ("gpu", 4)))
    g = guard()
    assert not allowed(g, state, K.NODE_FAILURE, 0, WEB)
    assert not allowed(g, state, K.POD_KILL, 0, "Node/n1")
    assert allowed(g, state, K.GPU_DEVICE_FAILURE, 0, "Node/gpu")
    assert not allowed(g, state, K.GPU_DEVICE_FAILURE, 0, "Node/n1")
    assert allowed(g, state, K.GPU_MEMORY_PRESSURE, 0, "ml/Deployment/train")
    assert not allowed(g, state, K.GPU_MEMORY_PRESSURE, 0, WEB)
    assert allowed(g, state, K.DATA_DRIFT, 2, "data/Deployment/etl")
    assert not allowed(g, state, K.DATA_DRIFT, 2, WEB)
    assert not allowed(g, state, K.POD_KILL, 0, "shop/Deployment/idle")
    assert "needs GPUs" in str(g.explain(state, Fault(K.GPU_DEVICE_FAILURE, 0, "Node/n1"), []))


def test_unknown_targets_are_masked() -> None:
    state = cluster([web()])
    g = guard()
    m = g.mask(state, ["shop/Deployment/gone", "Node/gone", "nonsense"], [])
    assert not m.any()
    with pytest.raises(SafetyError, match="not a workload or node"):
        g.check(state, Fault(K.POD_KILL, 0, "shop/Deployment/gone"), [])


def test_max_unavailable_share_counts_replicas_already_down() -> None:
    g = guard(max_unavailable_share=0.5)
    healthy = cluster([web(4)])
    assert allowed(g, healthy, K.POD_KILL, 0, WEB) and allowed(g, healthy, K.POD_KILL, 1, WEB)
    assert not allowed(g, healthy, K.POD_KILL, 2, WEB)
    assert allowed(g, healthy, K.NETWORK_LATENCY, 2, WEB)  # degrades, takes nothing down
    degraded = cluster([web(4, ready=3)])
    assert allowed(g, degraded, K.POD_KILL, 0, WEB) and not allowed(g, degraded, K.POD_KILL, 1, WEB)
    reason = g.explain(degraded, Fault(K.POD_KILL, 1, WEB), [])
    assert reason is not None and "max_unavailable_share" in reason
    # Node faults: n1 holds 2 of web's 4 pods.
    assert allowed(g, healthy, K.NODE_FAILURE, 0, "Node/n1")
    assert not allowed(g, cluster([web(4, on=(("n1", 3), ("n2", 1)))]), K.NODE_FAILURE, 0, "Node/n1")


def test_the_last_ready_replica_is_protected_when_asked() -> None:
    single = cluster([web(1, on=(("n1", 1),))])
    assert allowed(guard(), single, K.POD_KILL, 0, WEB)  # the simulator default: find the SPOF
    g = guard(protect_last_replica=True)
    assert not allowed(g, single, K.POD_KILL, 0, WEB)
    assert not allowed(g, single, K.NODE_FAILURE, 0, "Node/n1")
    assert allowed(g, single, K.NODE_FAILURE, 0, "Node/n2")
    assert allowed(g, single, K.NETWORK_LATENCY, 0, WEB)
    three = cluster([web(3, on=(("n1", 2), ("n2", 1)))])
    assert allowed(g, three, K.POD_KILL, 1, WEB) and not allowed(g, three, K.POD_KILL, 2, WEB)


def test_pdbs_mask_kills_but_never_evictions() -> None:
    state = cluster([web(3, on=(("n1", 2), ("n2", 1)), min_available=2)])
    g = guard(respect_pdb_for_kills=True)
    assert allowed(g, state, K.POD_KILL, 0, WEB)  # 1 of the 1 disruption allowed
    assert not allowed(g, state, K.POD_KILL, 1, WEB)
    assert allowed(g, state, K.POD_EVICTION, 2, WEB)  # the Eviction API refuses; that is safe
    assert allowed(g, state, K.NODE_DRAIN, 0, "Node/n1")
    assert not allowed(g, state, K.NODE_DRAIN, 2, "Node/n1")  # high deletes without evicting
    assert not allowed(g, state, K.NODE_FAILURE, 0, "Node/n1")
    assert allowed(g, state, K.NODE_FAILURE, 0, "Node/n2")
    assert allowed(guard(), state, K.POD_KILL, 2, WEB)
    percent = cluster([web(4, max_unavailable="25%")])
    assert allowed(g, percent, K.POD_KILL, 0, WEB) and not allowed(g, percent, K.POD_KILL, 1, WEB)


def test_concurrency_and_one_fault_per_target() -> None:
    state = cluster([web(), W("shop", "api", 2, on=(("n1", 1), ("n2", 1)))])
    g = guard(max_concurrent_faults=2)
    held = Injection("a", Fault(K.NETWORK_LATENCY, 0, WEB), "applied")
    assert not allowed(g, state, K.POD_KILL, 0, WEB, (held,))
    assert allowed(g, state, K.POD_KILL, 0, "shop/Deployment/api", (held,))
    two = (held, Injection("b", Fault(K.CPU_STRESS, 0, "Node/n1"), "applied"))
    assert not g.mask(state, targets_of(state), list(two)).any()
    refused = (held, Injection("c", Fault(K.POD_EVICTION, 0, "shop/Deployment/api"), "refused"))
    assert allowed(g, state, K.POD_KILL, 0, "shop/Deployment/api", refused)


def test_a_spent_error_budget_masks_everything() -> None:
    state = cluster([web()])
    budget = ErrorBudget(1.0)
    g = SafetyGuard(loose(), agent_namespace=AGENT_NS, budget=budget, kill_switch=MemoryKillSwitch())
    budget.consume(59.0)
    assert g.mask(state, targets_of(state), []).any()
    budget.consume(1.0)
    assert budget.exhausted and not g.mask(state, targets_of(state), []).any()
    with pytest.raises(SafetyError, match="error budget"):
        g.check(state, Fault(K.POD_KILL, 0, WEB), [])


def test_the_kill_switch_masks_everything_until_resumed() -> None:
    state = cluster([web()])
    switch = MemoryKillSwitch()
    g = SafetyGuard(loose(), agent_namespace=AGENT_NS, kill_switch=switch)
    switch.halt("operator")
    assert not g.mask(state, targets_of(state), []).any()
    with pytest.raises(SafetyError, match="kill switch"):
        g.check(state, Fault(K.POD_KILL, 0, WEB), [])
    switch.resume()
    g.check(state, Fault(K.POD_KILL, 0, WEB), [])


def test_dry_run_plans_but_refuses_to_inject() -> None:
    state = cluster([web()])
    g = guard(dry_run="plan")
    assert g.mask(state, targets_of(state), []).any()
    assert g.explain(state, Fault(K.POD_KILL, 0, WEB), []) is None
    with pytest.raises(SafetyError, match="dry_run"):
        g.check(state, Fault(K.POD_KILL, 0, WEB), [])


def test_the_mask_is_recomputed_for_a_new_state() -> None:
    g = guard(protect_last_replica=True)
    two = cluster([web(2, on=(("n1", 1), ("n2", 1)))])
    targets = targets_of(two)
    assert g.mask(two, targets, [])[0, KIND_INDEX[K.POD_KILL], 0]
    one_ready = cluster([web(2, on=(("n1", 1), ("n2", 1)), ready=1)])
    assert not g.mask(one_ready, targets, [])[0, KIND_INDEX[K.POD_KILL], 0]
