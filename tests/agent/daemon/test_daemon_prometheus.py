"""Fail closed: with Prometheus down the daemon injects nothing, says why on /readyz, and resumes once
Prometheus is back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    agent_config,
    free_port,
    http_get,
    intents,
    wait_for,
)
from tests.servers.prometheus import PrometheusFactory


def test_prometheus_down_means_no_injection_until_it_is_back(
        live: LiveCluster, agents: Callable[..., AgentProcess], prometheus_factory: PrometheusFactory,
        tmp_path: Path) -> None:
    prometheus = prometheus_factory()
    port = free_port()
    config = agent_config(tmp_path / "agent", kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=port,
                          prometheus_url=prometheus.url)
    journal = tmp_path / "agent" / "audit.jsonl"
    agent = agents(config).start()
    wait_for(lambda: intents(journal), 30, f"injections with Prometheus up\n{agent.logs()}")
    assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200

    prometheus.kill()

    def not_ready() -> bool:
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
        return status == 503 and any("prometheus" in p for p in json.loads(body)["problems"])

    wait_for(not_ready, 10, f"readiness to report Prometheus\n{agent.logs()}")
    count = len(intents(journal))
    time.sleep(3.0)
    assert len(intents(journal)) == count, "injected while Prometheus was down"
    assert live.leftovers() == []
    assert agent.alive()

    prometheus.start()
    wait_for(lambda: len(intents(journal)) > count, 20, f"injections to resume\n{agent.logs()}")
    wait_for(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 10, "ready again")
    code, _ = agent.terminate()
    assert code == 0 and live.leftovers() == []
