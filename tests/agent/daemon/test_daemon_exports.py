"""The export queue drains on its own timer: findings (tickets per finding) or weakness ticket events (tickets
per weakness) that could not be sent leave within about ``[findings] drain_every_s`` (plus their own queue
back-off, ``[exporters] queue_backoff_s``) once the tracker is back, even while no slot runs (here: the agent
is halted)."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.audit import open_intents
from agent.config import load_config
from agent.daemon import Service
from agent.findings import FindingStore
from agent.safety import FileKillSwitch
from agent.weaknesses.store import WeaknessStore
from tests.agent.daemon.harness import agent_config, free_port, intents, wait_for

DRAIN_EVERY_S = 1.0
SINGLE_REPLICA = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, annotations: {chaos-agent.io/entrypoint: "true"}}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""
"""One pod behind the entry point: nearly every fault breaks availability, so the slot has findings."""


class Tracker:
    """A webhook receiver that answers 503 while it is down, and keeps the findings or weaknesses it accepted."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.up = False
        self.attempts = 0
        self.accepted: set[str] = set()

    def __call__(self, request: Request) -> Response:
        self.attempts += 1
        if not self.up:
            return Response("down for maintenance", 503)
        self.accepted.add(json.loads(request.data)[self.kind]["id"])
        return Response("{}", 200, content_type="application/json")


def _waiting(tmp_path: Path, tickets: str) -> tuple[set[str], list[datetime | None]]:
    """What the tracker must get, and when each waiting export is next tried."""
    if tickets == "finding":
        with FindingStore(tmp_path / "findings.sqlite") as store:
            return {f.id for f in store.all()}, [e.next_attempt_at for e in store.queue() if e.status != "sent"]
    with WeaknessStore(tmp_path / "findings.sqlite") as weaknesses:
        return ({w.id for w in weaknesses.all()},
                [e.next_attempt_at for e in weaknesses.events() if e.status != "sent"])


@pytest.mark.parametrize("tickets", ["weakness", "finding"])
def test_exports_leave_within_drain_every_s_once_the_tracker_is_back(
        tickets: str, tmp_path: Path, httpserver: HTTPServer) -> None:
    tracker = Tracker(tickets)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(tracker)
    (tmp_path / "app.yaml").write_text(SINGLE_REPLICA)
    path = agent_config(tmp_path, kubeconfig=None, port=free_port(), budget=8,
                        extra='[cluster.simulated]\nmanifests = "app.yaml"\nseed = 5\n'
                              f'[weaknesses]\ntickets = "{tickets}"\n'
                              "[exporters]\nretries = 0\nqueue_backoff_s = 1\n"
                              f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\n')
    text = path.read_text().replace("fault_duration_s = 0.3", "fault_duration_s = 60").replace(
        "sample_every_s = 0.1", "sample_every_s = 15").replace("recovery_s = 0.2", "recovery_s = 60")
    drain = f'path = "findings.sqlite"\ndrain_every_s = {DRAIN_EVERY_S}'
    path.write_text(text.replace('path = "findings.sqlite"', drain))
    service = Service(load_config(path))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    journal = tmp_path / "audit.jsonl"
    try:
        wait_for(lambda: len(intents(journal)) >= 8 and not open_intents(journal), 90, "the game day's injections")
        wait_for(lambda: tracker.attempts > 0, 30, "a first export attempt, refused by the tracker")
        FileKillSwitch(tmp_path / "halt").halt("test: no more slots")  # exports must not wait for a slot
        stored, waiting = _waiting(tmp_path, tickets)
        tracker.up = True
        back_at, back_wall = time.monotonic(), datetime.now(UTC)
        assert stored and all(at is not None for at in waiting), waiting
        backoff_left = max(0.0, *((at - back_wall).total_seconds() for at in waiting if at is not None))
        wait_for(lambda: stored <= tracker.accepted, 30, f"the queued {tickets} exports to reach the tracker")
        took = time.monotonic() - back_at
        # the export's own back-off, then the next tick of the drain (generous for a loaded machine)
        assert took <= backoff_left + DRAIN_EVERY_S + 2.0, (took, backoff_left)
    finally:
        service.stop("test")
        thread.join(30)
    assert not thread.is_alive()
