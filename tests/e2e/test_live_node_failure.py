"""The agent's node_failure on the real control plane: what it does, and what Kubernetes does about it.

The agent cannot stop a kubelet (it runs as a pod with no access to the node), so its node_failure is
what the node lifecycle controller itself puts on an unreachable node: a NoExecute taint, here its own
key ``chaos-agent.io/node-failure``. Kubernetes' taint-eviction controller then evicts every pod that
does not tolerate it, and the pods' controllers recreate them on other nodes, as after a real failure
(test_live_control_plane stops a hollow kubelet for that). What differs from a stopped node: no
DefaultTolerationSeconds grace (the admission plugin adds tolerations only for the not-ready and
unreachable keys, so eviction starts at once rather than after 300 s), the kubelet keeps reporting the
node Ready, and a pod tolerating every taint (``operator: Exists``) stays put.

The fault's magnitude is its down time, 60 s at the lowest intensity (envs/faults.py; no setting
shortens it), so the daemon is halted with the kill switch once the pods have moved: the revert is the
one a fault reaching its end makes, and the kill switch is how an operator ends one early.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.backends.kubernetes.marks import NODE_FAILURE_TAINT
from envs.faults import CATALOG, FaultKind
from tests.agent.daemon.harness import AgentProcess, free_port, wait_for
from tests.e2e.live_agent import AGENT_USER, InstalledAgent, agent_config, forbidden_calls, injections, leftovers
from tests.e2e.workloads import SHOP, ready_pods
from tests.servers.kubernetes import ControlPlane
from tests.servers.kubernetes_api import Obj, wait_until

SHOP_NODES = ("node-a", "node-b")
"""The shop's pool: its pods can move from either node to the other."""


def _busiest(plane: ControlPlane) -> str:
    """The shop node with the most of the shop's pods (earlier tests' drains and failures move them about)."""
    return max(SHOP_NODES, key=lambda n: (len(_on_node(plane, n)), n))


def _on_node(plane: ControlPlane, node: str) -> dict[str, str]:
    """uid -> name of the shop's running pods on ``node``."""
    return {p["metadata"]["uid"]: p["metadata"]["name"] for p in plane.admin.list(f"/api/v1/namespaces/{SHOP}/pods")
            if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")}


def _taints(plane: ControlPlane, node: str) -> list[Obj]:
    return [t for t in plane.admin.get(f"/api/v1/nodes/{node}")["spec"].get("taints") or []
            if t["key"] == NODE_FAILURE_TAINT]


def _moved(plane: ControlPlane, node: str, app: str, count: int) -> list[Obj] | None:
    pods = [p for p in ready_pods(plane.admin, SHOP, app) if p["spec"]["nodeName"] != node]
    return pods if len(pods) >= count else None


def test_node_failure_taints_the_node_and_kubernetes_moves_its_pods_until_the_revert(
        control_plane: ControlPlane, installed_agent: InstalledAgent, clean_platform: dict[str, str],
        tmp_path: Path, agents: Callable[..., AgentProcess]) -> None:
    node = _busiest(control_plane)
    before = _on_node(control_plane, node)
    assert before, f"no shop pod runs on {' or '.join(SHOP_NODES)}"
    config = agent_config(tmp_path, installed=installed_agent, port=free_port(),
                          exclude_faults=[k.value for k in FaultKind if k is not FaultKind.NODE_FAILURE],
                          exclude_targets=[f"Node/{n}" for n in control_plane.nodes if n != node],
                          # the fault takes every pod on the node, whatever the shop's budgets say: this
                          # test is about its mechanics; the guard's limits are tested in tests/agent/safety
                          protect_last_replica=False, max_unavailable_share=1.0, respect_pdb_for_kills=False)
    journal = tmp_path / "audit.jsonl"
    since = control_plane.audit_offset()
    agent = agents(config).start()
    applied = wait_for(lambda: [i for i in injections(journal) if i.outcome == "applied"] or not agent.alive(), 90,
                       f"a node failure applied\n{agent.logs()}")
    assert agent.alive(), agent.logs()
    (failure,) = applied
    assert failure.kind == FaultKind.NODE_FAILURE.value
    (taint,) = _taints(control_plane, node)
    assert taint["effect"] == "NoExecute"

    wait_until(lambda: not set(before) & set(_on_node(control_plane, node)), timeout_s=60,
               what=f"the taint-eviction controller to evict the pods on {node}",
               detail=lambda: f"still there: {_on_node(control_plane, node)}")
    for app, count, what in (("web", 3, "the web shop's 3 pods"), ("db", 2, "the database's 2 pods")):
        wait_until(lambda: _moved(control_plane, node, app, count),  # noqa: B023 - called at once
                   timeout_s=90, what=f"{what} ready elsewhere")
    assert not _on_node(control_plane, node), "a new pod was scheduled onto the failed node"

    (tmp_path / "halt").write_text("e2e: end the node failure before its 60 s")  # the kill switch
    wait_for(lambda: next(i for i in injections(journal) if i.injection_id == failure.injection_id).reverted, 60,
             f"the node failure reverted\n{agent.logs()}")
    reverted = next(i for i in injections(journal) if i.injection_id == failure.injection_id).reverted
    assert reverted is not None and reverted - failure.started < CATALOG[FaultKind.NODE_FAILURE].ladder[0]
    assert _taints(control_plane, node) == []
    code, _ = agent.terminate(timeout_s=60)
    assert code == 0, agent.logs()
    assert forbidden_calls(control_plane.audit_events(since, user=AGENT_USER)) == []
    assert leftovers(control_plane.admin, gpus=clean_platform) == []
    assert control_plane.node_ready(node)
