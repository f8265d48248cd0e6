"""Which workloads keep data, whether it is a store or a cache, where the data lives and what a user loses.

A workload is a datastore when one of its containers runs a well-known datastore image (the catalogue
below, registry and tag ignored) or when ``chaos-agent.io/datastore`` says so. Its data lives at the
engine's data path (or ``chaos-agent.io/data-path``, ``PGDATA``, ``--dir``/``--dbpath``/``--datadir``);
what is mounted there decides whether the data survives: a claim (or any volume outliving the pod) keeps
it, an ``emptyDir`` loses it with the pod (a ``medium: Memory`` one also when the node reboots), and no
volume at all loses it with every container restart. Kind does not matter: a Deployment's datastore
loses data just as a StatefulSet's.

A cache holds nothing a user loses. Store or cache, in order: the annotation (``store``, ``cache``,
``none``) or ``chaos-agent.io/workload: cache``; the engine's persistence configuration in the container's
arguments (redis: ``--appendonly yes`` or a non-empty ``--save`` is a store; ``--save ""`` or an evicting
``--maxmemory-policy`` is a cache); the names around it (the workload's, its Services', and the env vars
its clients reach it by): "cache" makes a cache, and cart, session, queue, store, state, order, db make a
store; finally the engine's default: memcached is a cache, and a redis-like server is a store, because
its built-in configuration snapshots the data to its working directory (``save 3600 1 300 100 60 10000``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from envs.spec import DataStorage, Datastore, DataUsage
from envs.twin import annotations as a
from envs.twin.annotations import AnnotationReader
from envs.twin.pods import ContainerView
from envs.twin.provenance import Provenance
from envs.twin.workloads import WorkloadDraft


@dataclass(frozen=True)
class Engine:
    name: str
    images: tuple[str, ...]
    """Image names (last path element, no tag) that run it; a prefix match, so ``postgres`` covers postgresql."""
    paths: tuple[str, ...]
    """Where its images keep data (official images, then Bitnami's)."""
    unit: str
    usage: DataUsage = "store"
    replicates: bool = False
    """Replicas form a cluster that copies data by default (a single pod's loss resyncs)."""


ENGINES: tuple[Engine, ...] = (
    Engine("memcached", ("memcached",), (), "keys", usage="cache"),
    Engine("redis", ("redis", "valkey", "keydb", "dragonfly"), ("/data", "/bitnami/redis/data", "/bitnami/valkey/data"),
           "keys"),
    Engine("postgres", ("postgres", "postgis", "timescaledb"),
           ("/var/lib/postgresql/data", "/var/lib/postgresql", "/bitnami/postgresql"), "rows"),
    Engine("mysql", ("mysql", "mariadb", "percona"), ("/var/lib/mysql", "/bitnami/mysql", "/bitnami/mariadb"), "rows"),
    Engine("mongodb", ("mongo",), ("/data/db", "/bitnami/mongodb"), "documents"),
    Engine("cassandra", ("cassandra", "scylla"), ("/var/lib/cassandra", "/var/lib/scylla", "/bitnami/cassandra"),
           "rows", replicates=True),
    Engine("cockroachdb", ("cockroach",), ("/cockroach/cockroach-data",), "rows", replicates=True),
    Engine("clickhouse", ("clickhouse",), ("/var/lib/clickhouse",), "rows"),
    Engine("elasticsearch", ("elasticsearch", "opensearch"),
           ("/usr/share/elasticsearch/data", "/usr/share/opensearch/data", "/bitnami/elasticsearch/data"),
           "documents", replicates=True),
    Engine("couchdb", ("couchdb",), ("/opt/couchdb/data",), "documents"),
    Engine("kafka", ("kafka", "cp-kafka", "redpanda"),
           ("/var/lib/kafka/data", "/var/lib/kafka", "/bitnami/kafka", "/var/lib/redpanda/data"), "messages"),
    Engine("rabbitmq", ("rabbitmq",), ("/var/lib/rabbitmq", "/bitnami/rabbitmq/mnesia"), "queued messages"),
    Engine("nats", ("nats",), ("/data", "/data/jetstream"), "messages"),
    Engine("pulsar", ("pulsar",), ("/pulsar/data",), "messages"),
    Engine("activemq", ("activemq", "artemis"), ("/opt/activemq/data", "/var/lib/artemis-instance/data"), "messages"),
    Engine("etcd", ("etcd",), ("/var/lib/etcd", "/bitnami/etcd", "/etcd-data"), "keys", replicates=True),
    Engine("zookeeper", ("zookeeper", "cp-zookeeper"), ("/data", "/bitnami/zookeeper", "/var/lib/zookeeper"), "keys",
           replicates=True),
    Engine("minio", ("minio",), ("/data", "/export", "/bitnami/minio/data"), "objects"),
    Engine("influxdb", ("influxdb",), ("/var/lib/influxdb2", "/var/lib/influxdb", "/bitnami/influxdb"), "points"),
    Engine("neo4j", ("neo4j",), ("/data",), "records"),
)
BROKERS = frozenset({"kafka", "rabbitmq", "nats", "pulsar", "activemq"})
"""Engines that queue messages between producers and consumers (a pipeline's pass-through stage)."""
CACHE_WORDS = ("cache",)
STORE_WORDS = ("cart", "session", "queue", "store", "state", "order", "db")
_GENERIC = frozenset({"db", "database", "data", "store", "storage", "server", "srv", "svc", "service", "master",
                      "primary", "main", "cluster", "app", "k8s", "statefulset", "sts", "deployment", "deploy",
                      "prod", "staging", "dev", "queue", "broker", "mq", "bus"})
_PATH_FLAGS = ("--dir", "--dbpath", "--datadir", "--data-dir", "--data")
_EVICTING = re.compile(r"^(allkeys|volatile)-(lru|lfu|random|ttl)$")


def image_name(image: str) -> str:
    """``docker.io/library/redis:7-alpine`` -> ``redis``; ``bitnami/redis@sha256:..`` -> ``redis``."""
    path = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return path.split(":", 1)[0].lower()


def engine_of(images: Iterable[str]) -> tuple[Engine, str] | None:
    """The datastore engine of the first container whose image is a known one, and that image's name."""
    for image in images:
        name = image_name(image)
        for engine in ENGINES:
            if any(name.startswith(prefix) for prefix in engine.images):
                return engine, name
    return None


def _flag(args: tuple[str, ...], flag: str) -> str | None:
    """The value of ``--flag value`` or ``--flag=value`` in a command line (the last one wins)."""
    value = None
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def _words(args: tuple[str, ...]) -> tuple[str, ...]:
    """A command line split into words, shell-joined arguments (``sh -c "redis-server --save ''"``) included."""
    out: list[str] = []
    for arg in args:
        out.extend(arg.split() if " " in arg else [arg])
    return tuple(w.strip("'\"") if w in ("''", '""') else w for w in out)


def _persistence_config(engine: Engine, c: ContainerView) -> tuple[DataUsage, str] | None:
    """What the engine's own configuration says about keeping its data (redis-like servers only)."""
    if engine.name != "redis":
        return None
    extra = " ".join(v for k, v in c.env if k in ("REDIS_ARGS", "REDIS_EXTRA_FLAGS", "VALKEY_EXTRA_FLAGS"))
    args = _words(c.args + tuple(extra.split()))
    appendonly = _flag(args, "--appendonly")
    save = _flag(args, "--save")
    policy = _flag(args, "--maxmemory-policy")
    if appendonly == "yes":
        return "store", "--appendonly yes (the server keeps a log of every write)"
    if save is not None and save.strip("'\" "):
        return "store", f"--save {save} (the server snapshots its data)"
    if save is not None:
        return "cache", '--save "" (snapshots switched off)'
    if policy is not None and _EVICTING.match(policy):
        return "cache", f"--maxmemory-policy {policy} (it evicts keys when full)"
    return None


def _named_usage(names: Iterable[str]) -> tuple[DataUsage, str] | None:
    lowered = sorted({n.lower() for n in names if n})
    for n in lowered:
        if any(w in n for w in CACHE_WORDS):
            return "cache", f"named {n!r}"
    for n in lowered:
        if any(w in n for w in STORE_WORDS):
            return "store", f"named {n!r}"
    return None


def _data_path(engine: Engine | None, c: ContainerView, reader: AnnotationReader) -> str | None:
    annotated = reader.optional(a.DATA_PATH, _absolute_path)
    if annotated is not None:
        return annotated
    env = dict(c.env)
    if "PGDATA" in env:
        return env["PGDATA"]
    for flag in _PATH_FLAGS:
        value = _flag(_words(c.args), flag)
        if value and value.startswith("/"):
            return value
    return engine.paths[0] if engine and engine.paths else None


def _absolute_path(text: str) -> str:
    if not text.startswith("/"):
        raise ValueError("an absolute path such as /data")
    return text.rstrip("/") or "/"


def storage_at(path: str, c: ContainerView, candidates: tuple[str, ...] = ()) -> tuple[DataStorage, str, str, str]:
    """What backs ``path`` (or, when nothing is mounted there, any of the engine's other data paths): (storage,
    why, the data path it found, the volume mounted there or "")."""
    def covering(p: str) -> tuple[str, str, str] | None:
        best = None
        for mount, kind, volume in c.mounts:
            root = mount.rstrip("/") or "/"
            inside = p == root or p.startswith(root + "/") or root == "/"
            if inside and kind != "config" and (best is None or len(root) > len(best[0])):
                best = (root, kind, volume)
        return best

    for p in (path, *[x for x in candidates if x != path]):
        hit = covering(p)
        if hit is not None:
            root, kind, volume = hit
            storage: DataStorage = "persistent" if kind == "persistent" else kind  # type: ignore[assignment]
            what = {"persistent": "a volume that outlives the pod", "node": "an emptyDir",
                    "memory": "a memory-backed emptyDir"}[storage]
            return storage, f"{what} at {root}", p, volume
    return "container", f"no volume at {path} (the container's own filesystem)", path, ""


def _unit(draft: WorkloadDraft, engine: Engine | None, image: str) -> str:
    """The engine's unit, named after what the workload's name says it holds: redis-cart -> 'cart keys'."""
    base = engine.unit if engine else "items"
    skip = {image, *(engine.images if engine else ()), engine.name if engine else ""}
    words = [w for w in re.split(r"[-_.]", draft.name.lower())
             if w and w not in _GENERIC and not w.isdigit() and not any(w.startswith(s) for s in skip if s)]
    return f"{' '.join(words)} {base}" if words else base


def read_datastore(draft: WorkloadDraft, reader: AnnotationReader, around: Iterable[str],
                   provenance: Provenance) -> Datastore | None:
    """The workload's datastore record, or None when it is not one. ``around``: the names of its Services and
    of the env vars its clients reach it by."""
    declared = reader.optional(a.DATASTORE, a.one_of(a.DATASTORE_USAGES))
    if declared == "none":
        return None
    found = engine_of(c.image for c in draft.shape.containers)
    if found is None and declared is None:
        return None
    engine, image = found if found is not None else (None, "")
    container = next((c for c in draft.shape.containers if engine is not None and image_name(c.image) == image),
                     draft.shape.containers[0])
    owner = draft.origin
    usage, why = _usage(draft, reader, declared, engine, container, around)
    if declared is None:
        provenance.add(owner, a.DATASTORE, usage, why)
    path = _data_path(engine, container, reader)
    storage: DataStorage = "container"
    where, found_at, volume = "no data path known", "", ""
    if path is not None:
        storage, where, found_at, volume = storage_at(path, container, engine.paths if engine else ())
    if path is not None and a.DATA_PATH not in reader.values:
        provenance.add(owner, a.DATA_PATH, path, f"{engine.name if engine else 'the'} data path; {where}")
    unit = reader.get(a.DATA_UNIT, _unit_text, _unit(draft, engine, image))
    if a.DATA_UNIT not in reader.values:
        provenance.add(owner, a.DATA_UNIT, unit, f"{engine.unit if engine else 'items'} of {draft.name}")
    default_replicated = bool(engine and engine.replicates and draft.replicas > 1)
    replicated = reader.get(a.DATA_REPLICATED, a.boolean, default_replicated or _replica_set(engine, container))
    return Datastore(
        engine=engine.name if engine else "",
        usage=usage,
        storage=storage,
        unit=unit,
        items=reader.optional(a.DATA_ITEMS, a.positive_number),
        replicated=replicated and draft.replicas > 1,
        path=found_at,
        volume=volume,
        container=container.name,
    )


def _replica_set(engine: Engine | None, c: ContainerView) -> bool:
    """A mongod started with --replSet copies its data to the other members."""
    return bool(engine and engine.name == "mongodb" and _flag(_words(c.args), "--replSet"))


def _unit_text(text: str) -> str:
    if not text.strip() or len(text) > 60:
        raise ValueError("a short plural noun such as carts or queued messages")
    return text.strip()


def _usage(draft: WorkloadDraft, reader: AnnotationReader, declared: str | None, engine: Engine | None,
           c: ContainerView, around: Iterable[str]) -> tuple[DataUsage, str]:
    if declared in ("store", "cache"):
        return declared, "annotated"  # type: ignore[return-value]
    if reader.values.get(a.WORKLOAD) == "cache":
        return "cache", f"{a.WORKLOAD}: cache"
    if engine is not None and engine.usage == "cache":
        return "cache", f"{engine.name} keeps nothing on disk"
    if engine is not None:
        configured = _persistence_config(engine, c)
        if configured is not None:
            return configured
    named = _named_usage([draft.name, *around])
    if named is not None:
        return named
    if engine is not None and engine.name == "redis":
        return "store", "redis's default configuration snapshots its data (save 3600 1 300 100 60 10000)"
    return "store", f"{engine.name if engine else 'a datastore'} keeps data"
