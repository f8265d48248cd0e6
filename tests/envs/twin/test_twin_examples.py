"""The example apps under examples/manifests: call graphs, entry points, GPUs, checkpoints, pipelines."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from envs.spec import ClusterSpec
from envs.twin import load_manifests

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "manifests"


@pytest.fixture(scope="module")
def storefront() -> ClusterSpec:
    return load_manifests(EXAMPLES / "storefront")


@pytest.fixture(scope="module")
def ml_platform() -> ClusterSpec:
    return load_manifests(EXAMPLES / "ml-platform")


def edges(spec: ClusterSpec) -> set[tuple[str, str]]:
    return {(w.name, c.service.rsplit("/", 1)[1]) for w in spec.workloads for c in w.calls}


def test_storefront_call_graph_is_exactly_the_demo_architecture(storefront: ClusterSpec) -> None:
    frontend_calls = {
        "productcatalogservice",
        "currencyservice",
        "cartservice",
        "recommendationservice",
        "shippingservice",
        "checkoutservice",
        "adservice",
    }
    checkout_calls = {
        "productcatalogservice",
        "shippingservice",
        "paymentservice",
        "emailservice",
        "currencyservice",
        "cartservice",
    }
    assert edges(storefront) == (
        {("frontend", s) for s in frontend_calls}
        | {("checkoutservice", s) for s in checkout_calls}
        | {
            ("recommendationservice", "productcatalogservice"),
            ("cartservice", "redis-cart"),
            ("loadgenerator", "frontend"),
        }
    )


def test_storefront_shape(storefront: ClusterSpec) -> None:
    assert storefront.name == "storefront"
    assert len(storefront.workloads) == 12
    assert [s.name for s in storefront.services if s.entrypoint] == ["frontend-external"]
    entry = storefront.service("default/Service/frontend-external")
    assert (entry.slo.availability, entry.slo.latency_p99_ms, entry.load_rps) == (
        pytest.approx(0.995),
        800.0,
        25.0,  # sized by the twin: redis-cart, reached twice per request (cart, checkout -> cart), at 50%
    )
    carts = storefront.workload("default/Deployment/redis-cart")
    # The cart store is a redis on an emptyDir: a store (its name says carts; redis snapshots by default), so
    # its data dies with the pod and the data-loss steady state applies, in cart keys.
    assert carts.role == "serving" and not carts.persistent_storage
    assert carts.datastore is not None
    assert (carts.datastore.engine, carts.datastore.usage, carts.datastore.storage, carts.datastore.unit) == (
        "redis", "store", "node", "cart keys")
    ads = {c.service: c for c in storefront.workload("default/Deployment/frontend").calls}
    assert ads["default/Service/adservice"].fallback and ads["default/Service/adservice"].timeout_ms == 500
    assert ads["default/Service/recommendationservice"].retries == 1
    assert storefront.workload("default/Deployment/cartservice").max_unavailable == 0
    assert storefront.hpas[0].target == "default/Deployment/frontend"
    assert storefront.pdbs[0].min_available == "66%"
    assert len(storefront.nodes) >= 3 and any("default pool" in n for n in storefront.notes)


def test_ml_platform_entry_point_and_calls(ml_platform: ClusterSpec) -> None:
    assert [s.key for s in ml_platform.services if s.entrypoint] == ["recsys/Service/recommendation-api"]
    api = {c.service: c for c in ml_platform.workload("recsys/Deployment/recommendation-api").calls}
    assert set(api) == {"recsys/Service/model-server", "data/Service/feature-store"}
    assert api["data/Service/feature-store"].fallback
    assert api["recsys/Service/model-server"].retries == 1
    assert ml_platform.workload("recsys/Deployment/recommendation-api").replicas == 4


def test_ml_platform_gpu_training_and_checkpoints(ml_platform: ClusterSpec) -> None:
    ranker = ml_platform.workload("training/Job/ranker-train")
    assert (ranker.role, ranker.replicas, ranker.template.gpus) == ("training", 2, 2)
    assert ranker.training is not None and ranker.training.checkpoint_interval_s == 1200.0
    assert ranker.template.node_selector == (("nvidia.com/gpu.present", "true"),)
    gpu_nodes = [n for n in ml_platform.nodes if n.gpus]
    assert len(gpu_nodes) == 2 and all(n.gpus == 4 for n in gpu_nodes)
    assert all(
        any(t.tolerates(taint) for t in ranker.template.tolerations) for n in gpu_nodes for taint in n.taints
    )
    pretrain = ml_platform.workload("training/Job/two-tower-pretrain")
    assert pretrain.role == "training" and pretrain.training is not None
    assert pretrain.training.checkpoint_interval_s == pretrain.training.epoch_s  # PVC at .../checkpoints


def test_ml_platform_pipeline_feeds_chain(ml_platform: ClusterSpec) -> None:
    stages = {w.key: (w.pipeline.stage, w.pipeline.feeds) for w in ml_platform.workloads if w.pipeline}
    assert stages == {
        "data/Deployment/clickstream-ingest": ("producer", ("data/Service/feature-store",)),
        "data/Job/feature-materialize": ("producer", ("data/Service/feature-store",)),
        "data/StatefulSet/feature-store": ("feature_store", ("recsys/Service/model-server",)),
        "recsys/Deployment/model-server": ("model", ()),
    }
    store = ml_platform.workload("data/StatefulSet/feature-store")
    assert store.persistent_storage and store.leader_failover_s == 15.0
    model = ml_platform.workload("recsys/Deployment/model-server")
    assert model.pipeline is not None and model.pipeline.drift_monitor


def test_ml_platform_policies_and_daemonsets(ml_platform: ClusterSpec) -> None:
    assert {(p.name, p.min_available, p.max_unavailable) for p in ml_platform.pdbs} == {
        ("recommendation-api", "50%", None),
        ("model-server", None, 1),
        ("feature-store", None, 1),
    }
    assert {h.target: h.target_cpu_utilization for h in ml_platform.hpas} == {
        "recsys/Deployment/recommendation-api": 0.65,
        "recsys/Deployment/model-server": 0.75,
    }
    gpu = next(n for n in ml_platform.nodes if n.gpus)
    assert gpu.cpu_millis == 47810 - 50 - 100  # device plugin and node exporter
    assert any("skipped ServiceMonitor" in n for n in ml_platform.notes)


def test_live_kubectl_list_with_server_fields() -> None:
    spec = load_manifests(EXAMPLES / "live-snapshot" / "guestbook-kubectl-get.yaml")
    assert [w.key for w in spec.workloads] == [
        "guestbook/Deployment/frontend",
        "guestbook/Deployment/redis-follower",
        "guestbook/Deployment/redis-leader",
    ]
    assert edges(spec) == {("frontend", "redis-leader"), ("frontend", "redis-follower")}
    assert [s.name for s in spec.services if s.entrypoint] == ["frontend"]
    cordoned = next(n for n in spec.nodes if n.unschedulable)
    assert cordoned.zone == "europe-west1-c"
    assert any("skipped Job guestbook/seed-guestbook" in n and "completed" in n for n in spec.notes)
    assert not any("Pod" in n or "ReplicaSet" in n for n in spec.notes)


def _objects(path: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            out.extend(doc["items"] if doc.get("kind") == "List" else [doc])
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_examples_are_valid_kubernetes(path: Path) -> None:
    """Every built-in object passes the Kubernetes 1.30 OpenAPI schema (strict: no unknown fields)."""
    for obj in _objects(path):
        try:
            kubernetes_validate.validate(obj, "1.30", strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            group = str(obj["apiVersion"]).split("/")[0]
            assert "." in group and not group.endswith("k8s.io"), f"no schema for built-in {obj['kind']}"
