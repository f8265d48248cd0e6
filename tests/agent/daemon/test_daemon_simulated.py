"""The service on the simulated cluster (``run --serve``), in process: game-day slots run with their
budget, findings are stored, a stop request ends the loop with every fault reverted and exit code 0."""

from __future__ import annotations

import threading
from pathlib import Path

from agent.audit import RecordKind, open_intents, verify
from agent.config import load_config
from agent.daemon import Service
from tests.agent.daemon.harness import agent_config, free_port, http_get, intents, journal_records, wait_for


def test_serve_on_the_simulator_spends_the_game_day_budget_then_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    path = agent_config(tmp_path, kubeconfig=None, port=port, budget=4,
                        extra='[cluster.simulated]\nscenario = "ml-platform"\nseed = 5\n')
    text = path.read_text().replace("fault_duration_s = 0.3", "fault_duration_s = 60").replace(
        "sample_every_s = 0.1", "sample_every_s = 15").replace("recovery_s = 0.2", "recovery_s = 60")
    path.write_text(text)
    service = Service(load_config(path))
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(service.run()), daemon=True)
    thread.start()
    journal = tmp_path / "audit.jsonl"
    wait_for(lambda: len(intents(journal)) >= 4, 60, "the game day's four injections")
    wait_for(lambda: "chaos_agent_injections_total{" in http_get(f"http://127.0.0.1:{port}/metrics")[1], 10,
             "injections on /metrics")
    assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    service.stop("test")
    thread.join(30)
    assert codes == [0]
    assert len(intents(journal)) == 4, "the session's budget of 4 was exceeded"
    assert open_intents(journal) == [] and verify(journal).ok
    assert any(r.kind is RecordKind.NOTE and (r.detail or "").startswith("service stopped")
               for r in journal_records(journal))
