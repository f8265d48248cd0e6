"""Datastores: recognised from images and data paths, store or cache from how they are used, and the
storage their data lives on, for Deployments as for StatefulSets."""

from __future__ import annotations

from typing import Any

import pytest

from envs.spec import ClusterSpec, Datastore, Workload
from envs.twin import spec_from_objects
from tests.envs.twin.objects import container, deployment, node, service, statefulset


def store_container(image: str, *, mounts: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    c = container("db", **extra)
    c["image"] = image
    if mounts:
        c["volumeMounts"] = mounts
    return c


def build(*objs: dict[str, Any]) -> ClusterSpec:
    return spec_from_objects([*objs, node("n")], name="t")


def ds_of(spec: ClusterSpec, name: str) -> Datastore | None:
    w: Workload = next(w for w in spec.workloads if w.name == name)
    return w.datastore


def caller(name: str, **env: str) -> dict[str, Any]:
    return deployment(name, containers=[container("app", env=env)])


def test_deployment_redis_on_empty_dir_is_a_store_that_loses_data_with_its_pod() -> None:
    redis = deployment("redis-cart", containers=[store_container("redis:7.2-alpine", mounts=[
        {"name": "data", "mountPath": "/data"}])], volumes=[{"name": "data", "emptyDir": {}}])
    spec = build(redis, service("redis-cart"), caller("cartservice", REDIS_ADDR="redis-cart:6379"))
    ds = ds_of(spec, "redis-cart")
    assert ds == Datastore("redis", "store", "node", "cart keys")
    w = spec.workload("default/Deployment/redis-cart")
    assert w.role == "serving" and w.loses_data_with_pod and w.tracks_data_loss
    sources = {(i.name, i.annotation): (i.value, i.source) for i in spec.inferred}
    assert sources[("redis-cart", "chaos-agent.io/datastore")] == ("store", "named 'redis-cart'")
    assert sources[("redis-cart", "chaos-agent.io/data-path")][1] == "redis data path; an emptyDir at /data"


@pytest.mark.parametrize(("args", "usage"), [
    (["redis-server", "--save", "", "--appendonly", "no"], "cache"),
    (["sh", "-c", "redis-server --save '' --maxmemory 100mb"], "cache"),
    (["--maxmemory-policy", "allkeys-lru"], "cache"),
    (["--appendonly", "yes"], "store"),
    (["--save", "60 1000"], "store"),
    ([], "store"),  # redis's built-in configuration snapshots to its working directory
])
def test_redis_persistence_configuration_decides_store_or_cache(args: list[str], usage: str) -> None:
    spec = build(deployment("redis", containers=[store_container("redis", args=args)]))
    ds = ds_of(spec, "redis")
    assert ds is not None and ds.usage == usage
    assert spec.workloads[0].role == ("cache" if usage == "cache" else "serving")
    assert spec.workloads[0].tracks_data_loss is (usage == "store")


def test_names_of_the_workload_its_services_and_its_clients_decide_when_config_does_not() -> None:
    by_name = build(deployment("session-cache", containers=[store_container("valkey/valkey:8")]))
    assert ds_of(by_name, "session-cache").usage == "cache"  # type: ignore[union-attr]
    by_client = build(deployment("redis", containers=[store_container("redis")]), service("redis"),
                      caller("web", CACHE_HOST="redis"))
    assert ds_of(by_client, "redis").usage == "cache"  # type: ignore[union-attr]
    by_service = build(deployment("kv", containers=[store_container("redis")]),
                       service("sessions", selector={"app": "kv"}))
    assert ds_of(by_service, "kv").usage == "store"  # type: ignore[union-attr]


def test_memcached_is_always_a_cache() -> None:
    spec = build(deployment("orders-store", containers=[store_container("memcached:1.6")]))
    assert ds_of(spec, "orders-store").usage == "cache" and spec.workloads[0].role == "cache"  # type: ignore[union-attr]


def test_storage_at_the_data_path_decides_what_survives() -> None:
    no_volume = deployment("carts-db", containers=[store_container("mongo:7")])
    claims = statefulset("orders", replicas=1, containers=[store_container("postgres:16", mounts=[
        {"name": "data", "mountPath": "/var/lib/postgresql"}], env={"PGDATA": "/var/lib/postgresql/data/pgdata"})])
    memory = deployment("users-mysql", containers=[store_container("bitnami/mysql:8", mounts=[
        {"name": "tmp", "mountPath": "/bitnami/mysql"}])], volumes=[{"name": "tmp", "emptyDir": {"medium": "Memory"}}])
    config_only = deployment("catalog-db", containers=[store_container("mariadb", mounts=[
        {"name": "conf", "mountPath": "/etc/mysql/conf.d"}])], volumes=[{"name": "conf", "configMap": {"name": "c"}}])
    spec = build(no_volume, claims, memory, config_only)
    assert ds_of(spec, "carts-db") == Datastore("mongodb", "store", "container", "carts documents")
    assert ds_of(spec, "orders") == Datastore("postgres", "store", "persistent", "orders rows")
    assert ds_of(spec, "users-mysql") == Datastore("mysql", "store", "memory", "users rows")
    assert ds_of(spec, "catalog-db").storage == "container"  # type: ignore[union-attr]
    assert not spec.workload("default/StatefulSet/orders").loses_data_with_pod


def test_annotations_override_every_inference() -> None:
    custom = deployment("ledger", containers=[store_container("example.com/ledger:2", mounts=[
        {"name": "d", "mountPath": "/var/ledger"}])], volumes=[{"name": "d", "emptyDir": {}}],
        annotations={"chaos-agent.io/datastore": "store", "chaos-agent.io/data-path": "/var/ledger/db",
                     "chaos-agent.io/data-unit": "payments", "chaos-agent.io/data-items": "250000"})
    ignored = deployment("pg", containers=[store_container("postgres")],
                         annotations={"chaos-agent.io/datastore": "none"})
    spec = build(custom, ignored)
    assert ds_of(spec, "ledger") == Datastore("", "store", "node", "payments", 250000.0)
    assert ds_of(spec, "pg") is None
    assert not [i for i in spec.inferred if i.name == "ledger"]  # nothing left to infer


def test_brokers_and_replication() -> None:
    kafka = statefulset("kafka", replicas=3, claims=False, containers=[store_container("bitnami/kafka:3.7")])
    mongo = statefulset("users", replicas=3, claims=False,
                        containers=[store_container("mongo", args=["--replSet", "rs0"])])
    es = statefulset("search", replicas=3, claims=False, containers=[store_container("elasticsearch:8.13.0")])
    spec = build(kafka, mongo, es)
    assert ds_of(spec, "kafka") == Datastore("kafka", "store", "container", "messages")
    assert ds_of(spec, "users").replicated and ds_of(spec, "search").replicated  # type: ignore[union-attr]


def test_a_bad_datastore_annotation_is_noted_and_the_default_applies() -> None:
    spec = build(deployment("redis", containers=[store_container("redis")],
                            annotations={"chaos-agent.io/datastore": "maybe", "chaos-agent.io/data-path": "data"}))
    assert ds_of(spec, "redis").usage == "store"  # type: ignore[union-attr]
    text = "\n".join(spec.notes)
    assert "chaos-agent.io/datastore='maybe' is invalid (allowed: one of store, cache, none)" in text
    assert "chaos-agent.io/data-path='data' is invalid (allowed: an absolute path such as /data)" in text


def test_a_claim_template_replaces_a_template_volume_of_its_name() -> None:
    """The StatefulSet controller puts a claim in place of a pod template volume with the claim template's
    name: data mounted from that name outlives the pod, whatever the template's volume said."""
    mounted = [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]
    with_claim = statefulset("orders-db", replicas=1, containers=[store_container("postgres:16", mounts=mounted)],
                             volumes=[{"name": "data", "emptyDir": {}}])
    without = statefulset("orders-db", replicas=1, claims=False,
                          containers=[store_container("postgres:16", mounts=mounted)],
                          volumes=[{"name": "data", "emptyDir": {}}])
    claimed, ephemeral = ds_of(build(with_claim), "orders-db"), ds_of(build(without), "orders-db")
    assert claimed is not None and claimed.storage == "persistent"
    assert ephemeral is not None and ephemeral.storage == "node"
