"""The call graph from env vars, ConfigMaps and the chaos-agent.io/calls annotation."""

from __future__ import annotations

import json

from envs.spec import Call, ClusterSpec
from envs.twin import spec_from_objects
from tests.envs.twin.objects import config_map, container, deployment, node, service


def build(*objects: dict[str, object]) -> ClusterSpec:
    return spec_from_objects([*objects, node("n")], name="t")


def calls_of(spec: ClusterSpec, key: str) -> dict[str, Call]:
    return {c.service: c for c in spec.workload(key).calls}


def test_env_var_forms_make_edges_with_default_resilience() -> None:
    env = {
        "CART_ADDR": "cart:7070",
        "CATALOG_URL": "http://catalog.shop.svc.cluster.local:3550/v1",
        "CACHE": "redis://:pw@cache:6379/0",
        "PAYMENTS": "payments.billing",
        "NOT_AN_ADDRESS": "info",
        "MISSING": "ghost:80",
    }
    spec = build(
        deployment("web", namespace="shop", containers=[container(env=env)]),
        *(deployment(n, namespace="shop") for n in ("cart", "catalog", "cache")),
        deployment("payments", namespace="billing"),
        *(service(n, namespace="shop") for n in ("cart", "catalog", "cache")),
        service("payments", namespace="billing"),
    )
    assert calls_of(spec, "shop/Deployment/web") == {
        "shop/Service/cart": Call("shop/Service/cart"),
        "shop/Service/catalog": Call("shop/Service/catalog"),
        "shop/Service/cache": Call("shop/Service/cache"),
        "billing/Service/payments": Call("billing/Service/payments"),
    }
    assert Call("x").timeout_ms == 1000.0 and Call("x").retries == 0 and not Call("x").fallback


def test_env_references_are_expanded_like_the_kubelet() -> None:
    env = [
        {"name": "HOST", "value": "cart"},
        {"name": "ADDR", "value": "$(HOST):7070"},
        {"name": "LITERAL", "value": "$$(HOST)"},
    ]
    c = container()
    c["env"] = env
    spec = build(deployment("web", containers=[c]), deployment("cart"), service("cart"))
    assert list(calls_of(spec, "default/Deployment/web")) == ["default/Service/cart"]


def test_configmap_env_from_and_key_ref() -> None:
    c = container()
    c["envFrom"] = [{"configMapRef": {"name": "web-config"}}]
    c["env"] = [
        {"name": "CART", "valueFrom": {"configMapKeyRef": {"name": "shared", "key": "cart_addr"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    spec = build(
        deployment("web", containers=[c]),
        config_map("web-config", {"CATALOG_ADDR": "catalog:3550", "LOG": "debug"}),
        config_map("shared", {"cart_addr": "cart:7070", "unused": "ads:9555"}),
        *(deployment(n) for n in ("catalog", "cart", "ads")),
        *(service(n) for n in ("catalog", "cart", "ads")),
    )
    assert sorted(calls_of(spec, "default/Deployment/web")) == [
        "default/Service/cart",
        "default/Service/catalog",
    ]


def test_configmap_missing_from_input_is_noted() -> None:
    c = container()
    c["envFrom"] = [{"configMapRef": {"name": "elsewhere"}}]
    spec = build(deployment("web", containers=[c]))
    assert any("ConfigMap default/elsewhere is not in the input" in n for n in spec.notes)


def test_configmap_in_another_namespace_is_not_read() -> None:
    c = container()
    c["envFrom"] = [{"configMapRef": {"name": "cfg"}}]
    spec = build(
        deployment("web", containers=[c]),
        config_map("cfg", {"A": "cart:1"}, namespace="other"),
        deployment("cart"),
        service("cart"),
    )
    assert spec.workload("default/Deployment/web").calls == ()


def test_calls_annotation_overrides_and_adds() -> None:
    annotation = json.dumps(
        {"cart": {"timeout_ms": 250, "retries": 2, "fallback": True}, "ledger.billing": {"timeout_ms": 900}}
    )
    spec = build(
        deployment(
            "web",
            containers=[container(env={"CART": "cart:7070", "ADS": "ads:9555"})],
            template_annotations={"chaos-agent.io/calls": annotation},
        ),
        deployment("cart"),
        deployment("ads"),
        deployment("ledger", namespace="billing"),
        service("cart"),
        service("ads"),
        service("ledger", namespace="billing"),
    )
    assert calls_of(spec, "default/Deployment/web") == {
        "default/Service/ads": Call("default/Service/ads"),
        "default/Service/cart": Call("default/Service/cart", timeout_ms=250.0, retries=2, fallback=True),
        "billing/Service/ledger": Call("billing/Service/ledger", timeout_ms=900.0),
    }


def test_bad_calls_annotation_is_noted_and_defaults_kept() -> None:
    bad_json = deployment(
        "web",
        containers=[container(env={"CART": "cart:7070"})],
        annotations={"chaos-agent.io/calls": "{cart: fast}"},
    )
    spec = build(bad_json, deployment("cart"), service("cart"))
    assert calls_of(spec, "default/Deployment/web") == {"default/Service/cart": Call("default/Service/cart")}
    assert any(
        "Deployment default/web: annotation chaos-agent.io/calls='{cart: fast}' is invalid" in n
        for n in spec.notes
    )
    bad_fields = deployment(
        "web",
        annotations={
            "chaos-agent.io/calls": json.dumps(
                {"cart": {"timeout_ms": -5, "retries": "two", "fallback": "yes", "jitter": 1}, "ghost": {}}
            )
        },
    )
    spec = build(bad_fields, deployment("cart"), service("cart"))
    assert calls_of(spec, "default/Deployment/web") == {"default/Service/cart": Call("default/Service/cart")}
    text = "\n".join(spec.notes)
    for fragment in (
        "cart.timeout_ms=-5",
        "cart.retries='two'",
        "cart.fallback='yes'",
        "unknown field 'jitter'",
        "names 'ghost', which is not a Service",
    ):
        assert fragment in text


def test_calls_to_own_service_and_to_selectorless_services_are_dropped() -> None:
    external = service("payments-gateway", selector={})
    external["spec"] = {"type": "ExternalName", "externalName": "api.stripe.com"}
    spec = build(
        deployment(
            "kafka", containers=[container(env={"ADVERTISED": "kafka:9092", "PSP": "payments-gateway"})]
        ),
        service("kafka"),
        external,
    )
    assert spec.workload("default/Deployment/kafka").calls == ()
    assert any("ignored a call to its own Service default/kafka" in n for n in spec.notes)
    assert any("payments-gateway, which has no selector" in n for n in spec.notes)


def test_init_container_env_does_not_make_calls() -> None:
    init = container("wait", env={"DB": "db:5432"})
    spec = build(deployment("web", initContainers=[init]), deployment("db"), service("db"))
    assert spec.workload("default/Deployment/web").calls == ()


def test_call_cycles_are_noted() -> None:
    spec = build(
        deployment("a", containers=[container(env={"B": "b:80"})]),
        deployment("b", containers=[container(env={"A": "http://a"})]),
        service("a"),
        service("b"),
    )
    assert any("calls form a cycle among default/Deployment/a, default/Deployment/b" in n for n in spec.notes)


def test_annotation_targets_may_carry_ports_and_urls() -> None:
    annotation = json.dumps(
        {"cart:7070": {"retries": 3}, "http://ads.default.svc.cluster.local": {"fallback": True}}
    )
    spec = build(
        deployment("web", annotations={"chaos-agent.io/calls": annotation}),
        deployment("cart"),
        deployment("ads"),
        service("cart"),
        service("ads"),
    )
    assert calls_of(spec, "default/Deployment/web") == {
        "default/Service/cart": Call("default/Service/cart", retries=3),
        "default/Service/ads": Call("default/Service/ads", fallback=True),
    }
