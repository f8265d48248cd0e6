"""The daemon seals its journal with the audit key and publishes the head where it cannot rewrite it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from agent.audit import load_sealer, verify
from tests.agent.daemon.harness import AgentProcess, LiveCluster, agent_config, free_port, intents, wait_for


def test_the_daemon_publishes_its_keyed_journal_head_to_the_log_and_as_events(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_text("k" * 44 + "\n")
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=free_port(),
                          extra="")
    config.write_text(config.read_text().replace('path = "audit.jsonl"\n',
                                                 f'path = "audit.jsonl"\nkey_file = "{key_file}"\n'))
    agent = agents(config).start()
    journal = tmp_path / "audit.jsonl"
    wait_for(lambda: len(intents(journal)) >= 2, 60, f"two injections\n{agent.logs()}")
    code, _ = agent.terminate()
    assert code == 0, agent.logs()

    heads = [json.loads(line) for line in agent.log.read_text().splitlines()
             if line.startswith("{") and '"audit_head"' in line]
    assert len(heads) >= 2, "published at start and at stop"
    last_line = journal.read_bytes().split(b"\n")[-2]
    assert heads[-1]["head"] == hashlib.sha256(last_line).hexdigest(), "the final head is the journal's last"
    sealer = load_sealer(key_file)
    assert {h["key_id"] for h in heads} == {sealer.key_id}
    for published in heads:
        assert verify(journal, expected_head=published["head"], sealer=sealer).ok

    events = [e for e in live.em.list("Event", namespace="chaos-agent") if e.get("reason") == "AuditHead"]
    assert {e["message"].split(" has hash ")[1][:64] for e in events} == {h["head"] for h in heads}
    assert {e["involvedObject"]["kind"] for e in events} == {"Pod"}
