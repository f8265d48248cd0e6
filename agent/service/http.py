"""The daemon's HTTP endpoints: /healthz (alive), /readyz (fit to inject) and /metrics.

/readyz answers 200 when the readiness probe finds no problem, otherwise 503 with the reasons as a JSON
list, so a rollout or an operator sees why (the daemon's probe is ``agent.daemon.readiness``). The
agent's own metrics live in a private registry (no process-global state). The server binds loopback
unless ``[service] listen_host`` says otherwise (the cluster manifests set 0.0.0.0), times silent
connections out and serves a bounded number at once (agent/service/server.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from agent.service.server import MAX_CONNECTIONS, TIMEOUT_S, BackgroundHTTPServer, Reply


class AgentMetrics:
    """What the agent exports about itself."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.injections = Counter("chaos_agent_injections", "Injections by fault family and outcome.",
                                  ["family", "outcome"], registry=self.registry)
        self.findings = Counter("chaos_agent_findings", "Findings by violated steady-state signal.",
                                ["violation"], registry=self.registry)
        self.active_faults = Gauge("chaos_agent_active_faults", "Faults applied and not yet reverted.",
                                   registry=self.registry)
        self.decision_seconds = Histogram(
            "chaos_agent_decision_seconds", "Time to choose the next fault (policy, mask, anomaly scores).",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0), registry=self.registry)
        self.anomaly_score = Gauge("chaos_agent_anomaly_score", "Latest anomaly score per target.",
                                   ["target"], registry=self.registry)
        self._scored: set[str] = set()

    def record_injection(self, *, family: str, outcome: str) -> None:
        self.injections.labels(family=family, outcome=outcome).inc()

    def record_finding(self, *, violation: str) -> None:
        self.findings.labels(violation=violation).inc()

    def set_anomaly_scores(self, scores: Mapping[str, float]) -> None:
        """Replace the scores; targets that vanished are removed rather than left stale."""
        for gone in self._scored - set(scores):
            self.anomaly_score.remove(gone)
        for target, score in scores.items():
            self.anomaly_score.labels(target=target).set(score)
        self._scored = set(scores)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ReadinessProbe(Protocol):
    def problems(self) -> tuple[str, ...]:
        """Why the service is not ready, one reason each; empty when it is. Asked on every request."""
        ...


class ServiceEndpoints(BackgroundHTTPServer):
    """/healthz, /readyz and /metrics on ``host:port``."""

    def __init__(self, *, metrics: AgentMetrics, readiness: ReadinessProbe, host: str = "127.0.0.1",
                 port: int = 8080, max_connections: int = MAX_CONNECTIONS, timeout_s: float = TIMEOUT_S) -> None:
        self.metrics = metrics
        self.readiness = readiness
        super().__init__(host=host, port=port, name="agent-http", max_connections=max_connections,
                         timeout_s=timeout_s, routes={
            "/healthz": lambda: Reply(200, b"ok\n"),
            "/readyz": self._readyz,
            "/metrics": lambda: Reply(200, metrics.exposition(), CONTENT_TYPE_LATEST),
        })

    def _readyz(self) -> Reply:
        problems = self.readiness.problems()
        body = json.dumps({"ready": not problems, "problems": list(problems)}).encode() + b"\n"
        return Reply(503 if problems else 200, body, "application/json")
