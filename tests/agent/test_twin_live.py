"""The twin of a live cluster: built from the backend's lists (the Kubernetes emulator stands in for the API
server here: these tests check the listing, not Kubernetes behaviour), and written out for review."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.twin.export import write_twin
from agent.twin.inputs import build, gather
from envs.twin import load_manifests
from tests.agent.backends.kubernetes.conftest import fast_api, seed_cluster
from tests.emulator.fixtures import k8s_emulator
from tests.emulator.server import KubernetesEmulator

__all__ = ["k8s_emulator"]


def kube_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[cluster]\nbackend = "kubernetes"\n[cluster.kubernetes]\ncontext = "prod"\n')
    return path


def test_the_twin_of_a_live_cluster_comes_from_the_backends_lists(tmp_path: Path,
                                                                  k8s_emulator: KubernetesEmulator) -> None:
    seed_cluster(k8s_emulator)
    config = load_config(kube_config(tmp_path))
    inputs = gather(config, api_factory=lambda _c: fast_api(k8s_emulator))
    assert inputs.origin == "kubernetes" and inputs.name == "prod"
    spec = build(inputs)
    assert {w.key for w in spec.workloads} == {"shop/Deployment/web", "shop/StatefulSet/db", "ml/Job/train"}
    assert {n.name for n in spec.nodes} == {"node-a", "node-b", "gpu-1"}
    # The emulator serves no Ingress or Gateway API: each is one note, not an error.
    assert any(n.startswith("ingresses.networking.k8s.io not read from the cluster") for n in spec.notes)
    out = tmp_path / "twin"
    files = write_twin(out, inputs, spec)
    assert {f.name for f in files} == {"cluster.yaml", "shop.yaml", "ml.yaml", "notes.txt"}
    shop = (out / "shop.yaml").read_text()
    assert "kind: Pod\n" not in shop and "kind: ReplicaSet" not in shop and "resourceVersion" not in shop
    rebuilt = load_manifests(out)
    assert [w.key for w in rebuilt.workloads] == [w.key for w in spec.workloads]
    assert rebuilt.nodes == spec.nodes


def test_a_resource_the_agent_may_not_list_is_fatal_only_when_the_twin_needs_it(
        tmp_path: Path, k8s_emulator: KubernetesEmulator) -> None:
    from agent.backends.kubernetes.errors import KubernetesApiError

    seed_cluster(k8s_emulator)
    k8s_emulator.fail("/apis/apps/v1/deployments", 403, times=100)
    config = load_config(kube_config(tmp_path))
    with pytest.raises(KubernetesApiError):
        gather(config, api_factory=lambda _c: fast_api(k8s_emulator))
