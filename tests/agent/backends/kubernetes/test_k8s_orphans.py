"""The start-up sweep: marks in the cluster that no open injection owns are reverted, the others kept."""

from __future__ import annotations

import pytest

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.marks import NODE_FAILURE_TAINT
from agent.errors import BackendError
from envs.faults import Fault, FaultKind
from tests.agent.backends.kubernetes.conftest import Seeded, fast_api


def test_orphans_are_reverted_and_open_injections_kept(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    em.install_chaos_mesh()
    faults = {
        "node-down": Fault(FaultKind.NODE_FAILURE, 0, "Node/node-a"),
        "drain": Fault(FaultKind.NODE_DRAIN, 0, "Node/node-b"),
        "gpu": Fault(FaultKind.GPU_DEVICE_FAILURE, 0, "Node/gpu-1"),
        "latency": Fault(FaultKind.NETWORK_LATENCY, 0, "shop/Deployment/web"),
        "stress": Fault(FaultKind.CPU_STRESS, 0, "shop/Deployment/web"),  # the drain took db's pods
        "drift": Fault(FaultKind.DATA_DRIFT, 0, "ml/Job/train"),
        "an id that is not a label value!": Fault(FaultKind.NETWORK_LOSS, 0, "shop/Deployment/web"),
    }
    for injection_id, fault in faults.items():
        assert backend.inject(fault, injection_id=injection_id).outcome == "applied", injection_id

    # the agent restarts: a new backend, and the journal says only "latency" and "drift" are still open
    restarted = KubernetesBackend(fast_api(em))
    reverted = restarted.revert_orphans({"latency", "drift"})
    assert len(reverted) == 5 and "node-down" in reverted and "latency" not in reverted

    assert "taints" not in em.get("Node", "node-a")["spec"]
    assert "unschedulable" not in em.get("Node", "node-b")["spec"]
    assert em.get("Node", "gpu-1")["status"]["allocatable"]["nvidia.com/gpu"] == "4"
    assert [x["spec"]["action"] for x in em.list("NetworkChaos")] == ["delay"]
    assert em.list("StressChaos") == []
    assert [c["metadata"]["name"] for c in em.list("ConfigMap")] == ["chaos-agent-data-fault"]
    assert restarted.revert_orphans({"latency", "drift"}) == []


def test_sweep_leaves_foreign_marks_alone(seeded: Seeded, backend: KubernetesBackend) -> None:
    em = seeded.emulator
    foreign = [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
        {"key": "team.example/maintenance", "value": "x", "effect": "NoSchedule"},
    ]
    em.store.patch(
        em.type_of("Node"),
        "",
        "node-a",
        {"spec": {"taints": foreign, "unschedulable": True}},
        strategic=False,
    )
    assert backend.revert_orphans(set()) == []
    node = em.get("Node", "node-a")
    assert node["spec"] == {"taints": foreign, "unschedulable": True}
    assert NODE_FAILURE_TAINT not in str(node)


def test_a_half_applied_fault_that_cannot_be_reverted_is_flagged_until_a_sweep_reverts_it(
        seeded: Seeded, backend: KubernetesBackend) -> None:
    """The drain cordons node-b, then deleting its pods and the revert's node list both fail: the cordon
    stays, and the backend says so, so the daemon sweeps before its next injection, not at its next start."""
    em = seeded.emulator
    deletes = em.fail(r"^DELETE /api/v1/namespaces/[^/]+/pods/", 500, times=100)
    lists = em.fail(r"^GET /api/v1/nodes\?(?!.*watch)", 500, times=100)
    injection = backend.inject(Fault(FaultKind.NODE_DRAIN, 2, "Node/node-b"), injection_id="half")
    assert injection.outcome == "failed"
    assert em.get("Node", "node-b")["spec"].get("unschedulable") is True
    assert backend.orphans_left

    with pytest.raises(BackendError):  # still failing: the flag stays for the next try
        backend.revert_orphans(())
    assert backend.orphans_left
    deletes.times = lists.times = 0
    assert backend.revert_orphans(()) == ["half"]
    assert "unschedulable" not in em.get("Node", "node-b")["spec"]
    assert not backend.orphans_left
