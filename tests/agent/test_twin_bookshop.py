"""End to end on a public-demo-shaped application whose services find each other by hostnames in code: with
its service graph in a real Prometheus (backfilled with promtool), the twin has the call graph and the agent
finds the application's weaknesses; from the manifests alone only the front end is ever at risk."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agent.cli import main
from tests.agent.prometheus.service_graph_history import GraphEdge, istio_history
from tests.servers.prometheus import PrometheusFactory, prometheus_factory

__all__ = ["prometheus_factory"]

BOOKSHOP = Path(__file__).resolve().parents[1] / "envs" / "twin" / "cases" / "bookshop"
NS = "bookshop"
EDGES = (
    GraphEdge("", "unknown", NS, "frontend", rps=30.0, p99_ms=180.0),
    GraphEdge(NS, "frontend", NS, "catalog", rps=30.0, p99_ms=60.0),
    GraphEdge(NS, "frontend", NS, "cart", rps=15.0, p99_ms=20.0),
    GraphEdge(NS, "frontend", NS, "recommendations", rps=10.0, p99_ms=80.0),
    GraphEdge(NS, "frontend", NS, "orders", rps=3.0, p99_ms=150.0),
    GraphEdge(NS, "catalog", NS, "catalog-db", rps=30.0, p99_ms=10.0),
    GraphEdge(NS, "recommendations", NS, "catalog", rps=10.0, p99_ms=60.0),
    GraphEdge(NS, "cart", NS, "cart-redis", rps=30.0, p99_ms=3.0),
    GraphEdge(NS, "orders", NS, "orders-db", rps=6.0, p99_ms=15.0),
    GraphEdge(NS, "orders", NS, "payments", rps=3.0, p99_ms=90.0),
    GraphEdge(NS, "orders", NS, "order-queue", rps=3.0, p99_ms=5.0),
    GraphEdge(NS, "shipping-worker", NS, "order-queue", rps=3.0, p99_ms=5.0),
)
BACKENDS = {f"{NS}/Deployment/{n}" for n in ("catalog", "catalog-db", "cart", "cart-redis", "recommendations",
                                             "orders", "payments", "order-queue")}


def config(tmp_path: Path, prometheus_url: str | None) -> Path:
    path = tmp_path / "config.toml"
    prometheus = f'[prometheus]\nenabled = true\nurl = "{prometheus_url}"\n' if prometheus_url else ""
    path.write_text(f'[cluster.simulated]\nmanifests = "{BOOKSHOP}"\nseed = 11\n{prometheus}')
    return path


def run(config_path: Path, report: Path, injections: int) -> list[dict[str, object]]:
    assert main(["run", "--config", str(config_path), "--quiet", "--max-injections", str(injections),
                 "--report", str(report)]) == 0
    return json.loads(report.read_text())["findings"]  # type: ignore[no-any-return]


def test_with_its_service_graph_the_agent_finds_the_bookshops_weaknesses(
        tmp_path: Path, prometheus_factory: PrometheusFactory, capsys: pytest.CaptureFixture[str]) -> None:
    server = prometheus_factory(history=istio_history(EDGES, time.time() - 30))
    cfg = config(tmp_path, server.url)
    assert main(["twin", "show", "--config", str(cfg)]) == 0
    shown = capsys.readouterr().out
    assert "(from the manifests and istio_requests_total)" in shown
    for edge in ("frontend -> bookshop/Service/catalog  x1,", "cart -> bookshop/Service/cart-redis  x2,",
                 "catalog -> bookshop/Service/catalog-db  x0.75,", "orders -> bookshop/Service/order-queue  x1,"):
        assert edge in shown
    assert "bookshop/Service/frontend  30 rps" in shown  # measured (2 % noise), kept to two digits

    findings = run(cfg, tmp_path / "with.json", 60)
    by_violation: dict[str, set[str]] = {}
    for f in findings:
        by_violation.setdefault(str(f["violation"]), set()).add(str(f["target"]))
    # Data lost where users lose it: the carts in a redis on an emptyDir, the catalog in a mongo without a volume
    # (whichever fault showed it: a kill of the datastore's pod, or a drain of the node it shares with others).
    lost = [f for f in findings if f["violation"] == "data_loss"]
    assert {f"{NS}/Deployment/cart-redis", f"{NS}/Deployment/catalog-db"} <= {str(a) for f in lost
                                                                              for a in f["affected"]}  # type: ignore[attr-defined]
    signals = {str(s) for f in lost for s in f["evidence"]["signals"]}  # type: ignore[index]
    assert f"{NS}/Deployment/cart-redis share_of_cart_keys_lost" in signals
    # Weaknesses behind the front end: a single-replica backend on every request takes the shop down.
    reached = (by_violation.get("availability", set()) | by_violation.get("latency", set())) & BACKENDS
    assert reached, by_violation

    (tmp_path / "alone").mkdir()
    without = run(config(tmp_path / "alone", None), tmp_path / "without.json", 60)
    behind = {str(f["target"]) for f in without if f["violation"] in ("availability", "latency")} & BACKENDS
    assert not behind  # without the service graph no backend is on any request's path
