"""The kill switch: a halt while a fault is active reverts it within seconds; nothing is injected until
resume; the journal records the halt and the resume."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from agent.audit import RecordKind, open_intents
from agent.safety import FileKillSwitch
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


def test_halt_reverts_within_seconds_and_blocks_until_resume(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    port = free_port()
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=port,
                          fault_duration_s=30)
    journal = tmp_path / "audit.jsonl"
    agent = agents(config).start()
    fault = wait_for(lambda: active_fault(journal), 90, f"an applied fault\n{agent.logs()}")
    switch = FileKillSwitch(tmp_path / "halt")
    halted_at = time.monotonic()
    switch.halt("test: stop everything")
    wait_for(lambda: active_fault(journal) is None and not open_intents(journal), 5,
             f"the fault to be reverted after the halt\n{agent.logs()}")
    reverted_in = time.monotonic() - halted_at
    assert reverted_in < 3.0, reverted_in
    assert live.leftovers() == []
    records = journal_records(journal)
    assert any(r.kind is RecordKind.HALT and r.detail == "test: stop everything" for r in records)
    assert fault in {r.injection_id for r in records if r.kind is RecordKind.REVERT and r.status == "reverted"}
    status, body = http_get(f"http://127.0.0.1:{port}/readyz")
    assert status == 503 and "halted" in body

    count = len(intents(journal))
    time.sleep(2.0)
    assert len(intents(journal)) == count, "injected while halted"

    switch.resume()
    wait_for(lambda: len(intents(journal)) > count, 15, f"injections to resume\n{agent.logs()}")
    assert any(r.kind is RecordKind.RESUME for r in journal_records(journal))
    assert wait_for(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 5, "ready again")
    code, _ = agent.terminate()
    assert code == 0 and live.leftovers() == []


def test_the_in_cluster_configmap_halts_every_replica(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    port = free_port()
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=port,
                          fault_duration_s=30)
    journal = tmp_path / "audit.jsonl"
    agent = agents(config).start()
    wait_for(lambda: active_fault(journal), 90, f"an applied fault\n{agent.logs()}")
    halted_at = time.monotonic()
    live.em.put({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "chaos-agent-halt", "namespace": "chaos-agent"},
                 "data": {"reason": "INC-42"}})
    wait_for(lambda: active_fault(journal) is None and not open_intents(journal), 5,
             f"the fault to be reverted after the ConfigMap halt\n{agent.logs()}")
    assert time.monotonic() - halted_at < 3.0
    assert live.leftovers() == []
    status, body = http_get(f"http://127.0.0.1:{port}/readyz")
    assert status == 503 and "INC-42" in body
    count = len(intents(journal))
    time.sleep(1.5)
    assert len(intents(journal)) == count, "injected while halted"
    live.em.store.delete(live.em.type_of("ConfigMap"), "chaos-agent", "chaos-agent-halt")
    wait_for(lambda: len(intents(journal)) > count, 15, f"injections to resume\n{agent.logs()}")
    halts = [r for r in journal_records(journal) if r.kind is RecordKind.HALT]
    assert halts and "INC-42" in (halts[-1].detail or "")
    code, _ = agent.terminate()
    assert code == 0 and live.leftovers() == []
