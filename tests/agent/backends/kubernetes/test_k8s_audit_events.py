"""The audit head published as a Kubernetes Event: a valid core/v1 Event on the agent's Pod (or Lease)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest

from agent.audit import AuditJournal, HeadAnchor, HeadMark, Sealer, verify
from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.events import REASON, audit_head_event, audit_head_event_sink
from tests.emulator.server import KubernetesEmulator

KUBERNETES_VERSION = "1.32.0"


@pytest.mark.parametrize("pod", ["chaos-agent-7d9f-x2", None])
def test_the_event_is_a_valid_core_v1_event(pod: str | None) -> None:
    mark = HeadMark(journal="/var/lib/chaos-agent/audit.jsonl", seq=41, head="a" * 64, key_id="0123456789abcdef")
    involved = {"apiVersion": "v1", "kind": "Pod", "name": pod} if pod else {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "name": "chaos-agent-leader"}
    event = audit_head_event(mark, namespace="chaos-agent", involved=involved, now=dt.datetime(2026, 1, 1))
    kubernetes_validate.validate(event, KUBERNETES_VERSION, strict=True)
    assert event["involvedObject"]["namespace"] == "chaos-agent" == event["metadata"]["namespace"]
    assert "a" * 64 in event["message"] and "record 41" in event["message"] and "--expected-head" in event["message"]


def test_the_daemon_sink_posts_each_published_head(tmp_path: Path, api: KubeApi,
                                                   k8s_emulator: KubernetesEmulator) -> None:
    with AuditJournal.open(tmp_path / "audit.jsonl", config_hash="c", policy_hash="p", sealer=Sealer()) as journal:
        anchor = HeadAnchor(journal, every_s=60)
        anchor.sinks.append(audit_head_event_sink(api, namespace="chaos-agent", pod="agent-0", lease="leader"))
        first = anchor.publish()
        journal.record_note("later")
        second = anchor.publish()
    events = [e for e in k8s_emulator.list("Event", namespace="chaos-agent") if e["reason"] == REASON]
    assert sorted(e["message"].split(" has hash ")[1][:64] for e in events) == sorted([first.head, second.head])
    assert {e["involvedObject"]["name"] for e in events} == {"agent-0"}
    assert verify(tmp_path / "audit.jsonl", expected_head=first.head).ok  # an older head is still in the chain
