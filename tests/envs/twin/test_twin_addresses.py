"""Every form of Service address an env var may hold, and how it resolves between namespaces."""

from __future__ import annotations

import pytest

from envs.twin.addresses import hosts_in, resolve_value

SERVICES = {("shop", "cartservice"), ("shop", "redis-cart"), ("data", "feature-store"), ("shop", "kafka")}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cartservice", [("shop", "cartservice")]),
        ("cartservice:7070", [("shop", "cartservice")]),
        ("cartservice.shop", [("shop", "cartservice")]),
        ("cartservice.shop.svc", [("shop", "cartservice")]),
        ("cartservice.shop.svc.cluster.local", [("shop", "cartservice")]),
        ("cartservice.shop.svc.cluster.local:7070", [("shop", "cartservice")]),
        ("cartservice.shop.svc.corp.internal:7070", [("shop", "cartservice")]),
        ("http://cartservice:7070/x", [("shop", "cartservice")]),
        ("https://cartservice.shop.svc.cluster.local/api?q=1", [("shop", "cartservice")]),
        ("redis://redis-cart:6379", [("shop", "redis-cart")]),
        ("redis://:s3cret@redis-cart:6379/0", [("shop", "redis-cart")]),
        ("jdbc:postgresql://feature-store.data:5432/app", [("data", "feature-store")]),
        ("feature-store.data:6566", [("data", "feature-store")]),
        ("http://feature-store.data.svc.cluster.local:6566", [("data", "feature-store")]),
        ("kafka-0.kafka:9092,kafka-1.kafka:9092", [("shop", "kafka")]),
        ("kafka-0.kafka.shop.svc.cluster.local:9092", [("shop", "kafka")]),
        (
            "mongodb://cartservice:27017,redis-cart:27017/db",
            [("shop", "cartservice"), ("shop", "redis-cart")],
        ),
        ("CartService:7070", [("shop", "cartservice")]),
    ],
)
def test_address_forms_resolve_to_the_service(value: str, expected: list[tuple[str, str]]) -> None:
    assert resolve_value(value, "shop", SERVICES) == expected


@pytest.mark.parametrize(
    "value",
    [
        "feature-store",  # a bare name resolves only in the caller's namespace
        "feature-store:6566",
        "unknown-service:80",  # not in the input
        "8080",
        "true",
        "info",
        "",
        "cartservice:notaport",
        "/var/lib/cartservice",
        "the cartservice is down",  # prose, not an address
        "10.0.0.12:7070",
        "cartservice.other-namespace",
    ],
)
def test_values_that_name_no_known_service(value: str) -> None:
    assert resolve_value(value, "shop", SERVICES) == []


def test_bare_names_resolve_in_the_callers_namespace() -> None:
    assert resolve_value("feature-store:6566", "data", SERVICES) == [("data", "feature-store")]


def test_hosts_are_extracted_without_ports_paths_and_credentials() -> None:
    assert hosts_in("amqp://user:pw@rabbit.mq:5672/vhost") == ["rabbit.mq"]
    assert hosts_in("a:1, b:2") == ["a", "b"]
