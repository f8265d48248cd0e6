"""Calls observed in telemetry, joined to the input: calls per request, outside load, own latency."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.spec import ClusterSpec
from envs.twin import ObservedCall, load_manifests, spec_from_objects
from tests.envs.twin.objects import deployment, node, service

BOOKSHOP = Path(__file__).parent / "cases" / "bookshop"


def istio(src: str, dst: str, rps: float, p99: float | None = None, ns: str = "bookshop") -> ObservedCall:
    return ObservedCall(ns if src else "", src, ns, dst, rps, p99, 0.0, "istio_requests_total")


GRAPH = (
    istio("", "frontend", 30.0, 180.0),
    istio("frontend", "catalog", 30.0, 60.0),
    istio("frontend", "cart", 15.0, 20.0),
    istio("cart", "cart-redis", 30.0, 3.0),
    istio("catalog", "catalog-db", 30.0, 10.0),
    istio("recommendations", "catalog", 10.0, 60.0),
    istio("frontend", "recommendations", 10.0, 80.0),
    istio("shipping-worker", "order-queue", 3.0, 5.0),
    istio("orders", "order-queue", 3.0, 5.0),
    istio("frontend", "orders", 3.0, 150.0),
)


def calls_of(spec: ClusterSpec, name: str) -> dict[str, float]:
    w = spec.workload(f"bookshop/Deployment/{name}")
    return {c.service.rsplit("/", 1)[1]: c.per_request for c in w.calls}


def test_hostnames_in_code_leave_no_call_graph_in_the_manifests() -> None:
    spec = load_manifests(BOOKSHOP)
    assert all(not w.calls for w in spec.workloads)
    assert [s.name for s in spec.services if s.entrypoint] == ["frontend"]


def test_the_service_graph_gives_the_calls_with_their_rates() -> None:
    spec = load_manifests(BOOKSHOP, observed=GRAPH)
    assert calls_of(spec, "frontend") == pytest.approx(
        {"catalog": 1.0, "cart": 0.5, "recommendations": 0.33, "orders": 0.1})  # measured: two digits
    assert calls_of(spec, "cart") == {"cart-redis": 2.0}
    assert calls_of(spec, "catalog") == {"catalog-db": 0.75}  # 30 of its 40 rps
    assert calls_of(spec, "shipping-worker") == {"order-queue": 1.0}  # nothing calls it: once per request
    frontend = spec.service("bookshop/Service/frontend")
    assert frontend.load_rps == 30.0 and frontend.entrypoint
    # Own latency: the p99 seen at catalog less what its own calls took.
    assert spec.service("bookshop/Service/catalog").base_latency_ms == 50.0
    sources = {(i.name, i.annotation): i.source for i in spec.inferred}
    assert sources[("cart", "chaos-agent.io/calls")] == "cart-redis: seen in istio_requests_total"
    assert sources[("frontend", "chaos-agent.io/load-rps")] == "seen in istio_requests_total, from outside the input"


def test_a_clusterip_service_with_outside_traffic_becomes_an_entry_point() -> None:
    objs = [deployment("api"), service("api"), node("n")]
    spec = spec_from_objects(objs, name="t", observed=[ObservedCall("", "unknown", "default", "api", 12.0)])
    api = spec.service("default/Service/api")
    assert api.entrypoint and api.load_rps == 12.0
    withdrawn = service("api", annotations={"chaos-agent.io/entrypoint": "false"})
    spec = spec_from_objects([deployment("api"), withdrawn, node("n")], name="t",
                             observed=[ObservedCall("", "", "default", "api", 12.0)])
    assert not spec.service("default/Service/api").entrypoint


def test_service_names_without_namespaces_match_when_unique() -> None:
    objs = [deployment("web", namespace="a"), service("web", namespace="a"), deployment("db", namespace="a"),
            service("db", namespace="a"), deployment("db", namespace="b"), service("db", namespace="b"), node("n")]
    otel = [ObservedCall("", "web", "", "db", 5.0, origin="traces_service_graph_request_total"),
            ObservedCall("", "ghost", "", "web", 5.0, origin="traces_service_graph_request_total"),
            ObservedCall("a", "web", "a", "db", 5.0, origin="istio_requests_total")]
    spec = spec_from_objects(objs, name="t", observed=otel)
    web = spec.workload("a/Deployment/web")
    assert [c.service for c in web.calls] == ["a/Service/db"]  # from the namespaced Istio edge only
    text = "\n".join(spec.notes)
    assert "traces_service_graph_request_total: calls to db (5 rps) reach no Service in the input" in text
    # "ghost" is not in the input: its requests count as from outside, making web an entry point.
    assert spec.service("a/Service/web").entrypoint


def test_env_var_calls_and_observed_calls_merge() -> None:
    from tests.envs.twin.objects import container

    web = deployment("web", containers=[container("app", env={"DB": "db:5432"})])
    spec = spec_from_objects([web, service("web"), deployment("db"), service("db"), node("n")], name="t",
                             observed=[ObservedCall("default", "web", "default", "db", 30.0, origin="response_total"),
                                       ObservedCall("", "", "default", "web", 10.0, origin="response_total")])
    (call,) = spec.workload("default/Deployment/web").calls
    assert call.per_request == 3.0
    (inferred,) = [i for i in spec.inferred if i.annotation == "chaos-agent.io/calls"]
    assert inferred.source == "db: env DB, seen in response_total"
