"""Start-up recovery (open intents of a previous journal, orphans no journal owns) and SIGTERM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.audit import AuditJournal, RecordKind, open_intents, verify
from agent.backends.kubernetes.marks import (
    CORDONED_BY_ANNOTATION,
    INJECTION_ANNOTATION,
    INJECTION_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NODE_FAILURE_TAINT,
)
from envs.cluster import Injection
from envs.faults import Fault, FaultKind
from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    active_fault,
    agent_config,
    free_port,
    http_get,
    intents,
    journal_records,
    wait_for,
)


def _previous_run(live: LiveCluster, folder: Path) -> None:
    """A journal whose last fault (a node failure on node-a) was never reverted, and three orphans."""
    folder.mkdir(parents=True, exist_ok=True)
    fault = Fault(FaultKind.NODE_FAILURE, 0, "Node/node-a", duration_s=600)
    with AuditJournal.open(folder / "audit.jsonl", config_hash="old", policy_hash="old") as journal:
        journal.record_intent("prev-1", fault)
        journal.record_outcome(Injection("prev-1", fault, "applied", "tainted node-a"))
    node = live.em.type_of("Node")
    live.em.store.update(node, "", "node-a", lambda o: {**o, "spec": {**o.get("spec", {}), "taints": [
        {"key": NODE_FAILURE_TAINT, "value": "prev-1", "effect": "NoExecute"}]}})
    live.em.store.update(node, "", "node-b", lambda o: {
        **o, "metadata": {**o["metadata"], "annotations": {CORDONED_BY_ANNOTATION: "orphan-3"}},
        "spec": {**o.get("spec", {}), "unschedulable": True}})
    marks = {"labels": {MANAGED_BY_LABEL: MANAGED_BY, INJECTION_LABEL: "orphan-2"},
             "annotations": {INJECTION_ANNOTATION: "orphan-2"}}
    live.em.put({"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
                 "metadata": {"name": "chaos-agent-orphan-2", "namespace": "shop", **marks},
                 "spec": {"action": "delay", "mode": "all", "duration": "600s",
                          "selector": {"namespaces": ["shop"], "labelSelectors": {"app": "web"}}}})
    live.em.put({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "chaos-agent-data-fault", "namespace": "shop",
                              "labels": {MANAGED_BY_LABEL: MANAGED_BY, INJECTION_LABEL: "orphan-4"}},
                 "data": {"kind": "data_drift", "injection_id": "orphan-4"}})


def test_start_up_reverts_the_past_then_sigterm_reverts_the_present(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    _previous_run(live, tmp_path)
    before = live.leftovers()
    assert len(before) == 5, before  # taint, cordon + its annotation, the chaos object, the ConfigMap
    port = free_port()
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=port,
                          fault_duration_s=20)
    agent = agents(config).start()
    journal = tmp_path / "audit.jsonl"
    old = ("prev-1", "orphan-2", "orphan-3", "orphan-4")
    wait_for(lambda: not any(m in x for x in live.leftovers() for m in old), 30,
             f"the previous run's faults to be reverted: {live.leftovers()}\n{agent.logs()}")
    reverts = [r for r in journal_records(journal) if r.kind is RecordKind.REVERT and r.status == "reverted"]
    assert "prev-1" in {r.injection_id for r in reverts}

    def notes() -> str:
        return " ".join(r.detail or "" for r in journal_records(journal) if r.kind is RecordKind.NOTE)

    wait_for(lambda: "sweep" in notes(), 10, "the sweep's note in the journal")
    assert "orphan-2" in notes() and "orphan-3" in notes() and "orphan-4" in notes()

    # slots run: a fault of this run is active (20 s experiments), then SIGTERM lands in the middle of it
    fault = wait_for(lambda: active_fault(journal), 30, f"an applied fault\n{agent.logs()}")
    assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    status, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "chaos_agent_injections_total{" in metrics and "chaos_agent_active_faults 1.0" in metrics
    code, seconds = agent.terminate()
    assert code == 0, agent.logs()
    assert seconds < 10, f"exit took {seconds:.1f} s, over revert_timeout_s"
    assert live.leftovers() == []
    assert open_intents(journal) == []
    assert fault in {r.injection_id for r in journal_records(journal)
                     if r.kind is RecordKind.REVERT and r.status == "reverted"}
    assert verify(journal).ok
    assert len(intents(journal)) >= 1
    assert '"injection_id": "' + fault + '"' in agent.log.read_text()  # logs carry the injection id
