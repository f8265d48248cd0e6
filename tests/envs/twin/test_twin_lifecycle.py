"""The twin's lifecycle and traffic inputs: startup probes and cold starts, who calls an entry point and how
it retries, cached calls, brokers inside pipelines, and default entry loads sized per entry point."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from envs.spec import ClusterSpec, EntryClient, Probe
from envs.twin import spec_from_objects
from tests.envs.twin.objects import container, deployment, node, service


def build(*objs: dict[str, Any]) -> ClusterSpec:
    return spec_from_objects([*objs, node("n")], name="t")


def ingress(name: str, backend: str, *, cls: str | None = None, **annotations: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": backend, "port": {"number": 80}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": annotations}, "spec": spec}


def image(name: str, img: str, **kw: Any) -> dict[str, Any]:
    c = container("main", **kw)
    c["image"] = img
    return deployment(name, containers=[c])


def test_startup_probe_and_cold_start_are_read() -> None:
    probe = {"httpGet": {"path": "/health", "port": 8000}, "periodSeconds": 10, "failureThreshold": 30}
    obj = deployment("llm", containers=[container("main", startupProbe=probe)],
                     template_annotations={"chaos-agent.io/cold-start": "3m"})
    (w,) = build(obj).workloads
    assert w.template.startup_probe == Probe(period_s=10.0, failure_threshold=30)
    assert w.template.cold_start_s == 180.0


def test_a_known_model_server_gets_an_assumed_model_load_unless_startup_is_annotated() -> None:
    spec = build(image("llm", "vllm/vllm-openai:v0.6.3"))
    assert spec.workloads[0].template.cold_start_s == 120.0
    (inferred,) = [i for i in spec.inferred if i.annotation == "chaos-agent.io/cold-start"]
    assert inferred.value == "120s" and "model server" in inferred.source
    annotated = image("llm", "vllm/vllm-openai:v0.6.3")
    annotated["metadata"]["annotations"] = {"chaos-agent.io/startup": "45s"}
    assert build(annotated).workloads[0].template.cold_start_s == 0.0
    assert build(image("api", "python:3.12")).workloads[0].template.cold_start_s == 0.0


def test_ingress_nginx_retries_another_endpoint_by_default() -> None:
    spec = build(deployment("web"), service("web"), ingress("web", "web"))
    client = spec.service("default/Service/web").client
    assert client == EntryClient("ingress-nginx (Ingress default/web)", 3, 5000.0, False)
    (inferred,) = [i for i in spec.inferred if i.annotation == "chaos-agent.io/entry-client"]
    assert json.loads(inferred.value)["tries"] == 3 and "proxy" not in inferred.source
    assert "retries another endpoint on connection errors and timeouts" in inferred.source


@pytest.mark.parametrize(("annotations", "tries", "timeout_ms", "on_error"), [
    ({"nginx.ingress.kubernetes.io/proxy-next-upstream": "off"}, 1, 5000.0, False),
    ({"nginx.ingress.kubernetes.io/proxy-next-upstream": "error timeout http_502 http_503"}, 3, 5000.0, True),
    ({"nginx.ingress.kubernetes.io/proxy-next-upstream-tries": "5",
      "nginx.ingress.kubernetes.io/proxy-connect-timeout": "2"}, 5, 2000.0, False),
    # ingress-nginx parses its timeouts as whole seconds and ignores anything else: the 5 s default holds
    ({"nginx.ingress.kubernetes.io/proxy-connect-timeout": "0.5"}, 3, 5000.0, False),
])
def test_ingress_nginx_annotations_change_the_retries(annotations: dict[str, str], tries: int, timeout_ms: float,
                                                      on_error: bool) -> None:
    spec = build(deployment("web"), service("web"), ingress("web", "web", cls="nginx", **annotations))
    c = spec.service("default/Service/web").client
    assert (c.tries, c.connect_timeout_ms, c.retry_on_error) == (tries, timeout_ms, on_error)


def test_other_ingress_controllers_and_gateways() -> None:
    traefik = build(deployment("web"), service("web"), ingress("web", "web", cls="traefik"))
    assert traefik.service("default/Service/web").client.tries == 1
    assert any("retries are not known to the twin; assumed none" in n for n in traefik.notes)
    klass = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "public"},
             "spec": {"controller": "k8s.io/ingress-nginx"}}
    by_class = build(deployment("web"), service("web"), klass, ingress("web", "web", cls="public"))
    assert by_class.service("default/Service/web").client.tries == 3

    def route(retry: dict[str, Any] | None) -> dict[str, Any]:
        rule: dict[str, Any] = {"backendRefs": [{"name": "web", "port": 80}]}
        if retry:
            rule["retry"] = retry
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web"},
                "spec": {"parentRefs": [{"name": "gw"}], "rules": [rule]}}

    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw"},
          "spec": {"gatewayClassName": "istio"}}
    gwc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "istio"},
           "spec": {"controllerName": "istio.io/gateway-controller"}}
    istio = build(deployment("web"), service("web"), gw, gwc, route(None)).service("default/Service/web")
    assert istio.entrypoint and (istio.client.tries, istio.client.retry_on_error) == (3, True)
    explicit = build(deployment("web"), service("web"), route({"attempts": 1})).service("default/Service/web")
    assert explicit.entrypoint and (explicit.client.tries, explicit.client.retry_on_error) == (2, False)


def test_the_entry_client_annotation_overrides_and_bad_fields_are_noted() -> None:
    svc = service("web", annotations={"chaos-agent.io/entry-client": json.dumps({"tries": 2, "retry_on_error": 1})})
    spec = build(deployment("web"), svc, ingress("web", "web"))
    c = spec.service("default/Service/web").client
    assert (c.tries, c.retry_on_error) == (2, False)
    assert any("chaos-agent.io/entry-client='retry_on_error=1' is invalid" in n for n in spec.notes)
    assert not [i for i in spec.inferred if i.annotation == "chaos-agent.io/entry-client"]


def test_calls_to_a_schema_registry_are_cached_by_default_and_cache_ttl_can_be_annotated() -> None:
    registry = image("schema-registry", "confluentinc/cp-schema-registry:7.6.0")
    flags = image("flags", "unleashorg/unleash-server:6")
    api = deployment("api", containers=[container("app", env={"SCHEMA_REGISTRY_URL": "http://schema-registry:8081",
                                                               "FLAGS": "http://flags:4242", "DB": "orders:5432"})],
                     annotations={"chaos-agent.io/calls": json.dumps({
                         "flags": {"cache_ttl": "30s"}, "orders": {"per_request": 3}})})
    spec = build(registry, flags, deployment("orders"), api, service("schema-registry"), service("flags"),
                 service("orders"))
    calls = {c.service.rsplit("/", 1)[1]: c for c in spec.workload("default/Deployment/api").calls}
    assert math.isinf(calls["schema-registry"].cache_ttl_s) and calls["flags"].cache_ttl_s == 30.0
    assert calls["orders"].cache_ttl_s == 0.0 and calls["orders"].per_request == 3.0
    (inferred,) = [i for i in spec.inferred if i.annotation == "chaos-agent.io/calls"]
    value = json.loads(inferred.value)
    assert value["schema-registry"]["cache_ttl"] == "forever" and value["flags"]["cache_ttl"] == 30.0
    assert "schema-registry: env SCHEMA_REGISTRY_URL, cached: a schema registry" in inferred.source
    bad = deployment("x", annotations={"chaos-agent.io/calls": json.dumps({"orders": {"cache_ttl": "soon"}})})
    assert any("orders.cache_ttl='soon'" in n and "is invalid" in n
               for n in build(bad, deployment("orders"), service("orders")).notes)


def test_a_broker_in_a_pipeline_feeds_its_consumers() -> None:
    producer = deployment("ingest", annotations={"chaos-agent.io/feeds": "kafka"},
                          containers=[container("app", env={"KAFKA": "kafka:9092"})])
    kafka = image("kafka", "bitnami/kafka:3.7")
    consumer = deployment("scorer", containers=[container("app", env={"BOOTSTRAP": "kafka:9092"})])
    spec = build(producer, kafka, consumer, service("kafka"), service("scorer"))
    broker = spec.workload("default/Deployment/kafka")
    assert broker.pipeline is not None and broker.pipeline.feeds == ("default/Service/scorer",)
    assert broker.pipeline.stage == "feature_store"
    scorer = spec.workload("default/Deployment/scorer")
    assert scorer.pipeline is not None and scorer.pipeline.stage == "model"
    (feeds,) = [i for i in spec.inferred if i.annotation == "chaos-agent.io/feeds"]
    assert (feeds.name, feeds.value) == ("kafka", "scorer")


def test_default_entry_loads_are_scaled_per_entry_point() -> None:
    # shop's requests reach a slow backend; admin's never do, so admin keeps half its own capacity.
    shop = deployment("shop", replicas=2, containers=[container("app", env={"API": "backend:80"})])
    backend = deployment("backend", annotations={"chaos-agent.io/capacity-rps-per-pod": "20"})
    admin = deployment("admin", replicas=2)
    spec = build(shop, backend, admin, service("shop", type="LoadBalancer"), service("backend"),
                 service("admin", type="NodePort"))
    assert spec.service("default/Service/shop").load_rps == 10.0  # backend (20 rps) at 50 %
    assert spec.service("default/Service/admin").load_rps == 100.0  # 2 pods x 100 rps x 50 %
    text = "\n".join(spec.notes)
    assert "default/Service/shop: assumed entry load lowered to 10 rps so that default/Service/backend" in text
    assert "default/Service/admin: assumed entry load lowered" not in text
