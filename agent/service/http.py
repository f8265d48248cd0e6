"""The daemon's HTTP endpoints: /healthz (alive), /readyz (fit to inject) and /metrics.

/readyz answers 200 only when the cluster backend and Prometheus both answered within ``max_age_s``
and the agent is not halted; otherwise 503 with the reasons, one per line, so a rollout or an
operator sees why. The agent's own metrics live in a private registry (no process-global state).
The server binds loopback unless ``[service] listen_host`` says otherwise (the cluster manifests set
0.0.0.0), times silent connections out and serves a bounded number at once (agent/service/server.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from agent.service.server import MAX_CONNECTIONS, TIMEOUT_S, BackgroundHTTPServer, Reply

LastOk = Callable[[], float | None]
"""``time.monotonic()`` of the last good answer of a dependency, None before the first."""


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


@dataclass(frozen=True)
class Readiness:
    """Ready = both dependencies answered recently and the agent is not halted."""

    backend_ok_at: LastOk
    prometheus_ok_at: LastOk | None
    """None when Prometheus is not used (the simulated cluster)."""
    halted: Callable[[], bool]
    max_age_s: float = 60.0
    clock: Callable[[], float] = time.monotonic

    def problems(self) -> tuple[str, ...]:
        now = self.clock()
        found = []
        for name, last_ok in (("cluster backend", self.backend_ok_at), ("prometheus", self.prometheus_ok_at)):
            if last_ok is None:
                continue
            at = last_ok()
            if at is None:
                found.append(f"{name} has not answered yet")
            elif now - at > self.max_age_s:
                found.append(f"{name} last answered {now - at:.0f} s ago (limit {self.max_age_s:g} s)")
        if self.halted():
            found.append("agent is halted (a stop condition fired or an operator stopped it)")
        return tuple(found)


class ServiceEndpoints(BackgroundHTTPServer):
    """/healthz, /readyz and /metrics on ``host:port``."""

    def __init__(self, *, metrics: AgentMetrics, readiness: Readiness, host: str = "127.0.0.1",
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
