"""Input the twin cannot simulate is refused in one line before anything is allocated for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envs.sim import SimulatedCluster, SimulationError
from envs.spec import ClusterSpec, HpaSpec, PodTemplate, Workload
from envs.twin import ManifestError, TooLarge, load_manifests, skipped_objects, spec_from_objects
from envs.twin.errors import MAX_MANIFEST_BYTES, MAX_PODS, MAX_REPLICAS
from tests.envs.twin.objects import deployment, job, node


def test_a_billion_replicas_are_refused_at_once() -> None:
    with pytest.raises(TooLarge, match=rf"Deployment default/web asks for 1000000000 pods; .* at most {MAX_REPLICAS}"):
        spec_from_objects([deployment("web", replicas=1_000_000_000)], name="t")


def test_job_parallelism_and_hpa_maxima_count_too() -> None:
    with pytest.raises(TooLarge, match="Job default/batch asks for"):
        spec_from_objects([job("batch", parallelism=MAX_REPLICAS + 1)], name="t")
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 1, "maxReplicas": 10**9}}
    with pytest.raises(TooLarge, match="HorizontalPodAutoscaler default/web has maxReplicas 1000000000"):
        spec_from_objects([deployment("web"), hpa, node("n")], name="t")


def test_too_many_pods_in_all_are_refused() -> None:
    many = [deployment(f"w{i}", replicas=MAX_REPLICAS) for i in range(MAX_PODS // MAX_REPLICAS + 1)]
    with pytest.raises(TooLarge, match=rf"pods in all; the twin simulates at most {MAX_PODS}"):
        spec_from_objects(many, name="t")


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    big = tmp_path / "dump.yaml"
    with big.open("w") as f:  # not even valid YAML: the size check must come first
        f.write("{" * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(TooLarge, match=r"MiB of manifests \(largest: dump.yaml\), above the twin's limit"):
        load_manifests(tmp_path)
    assert issubclass(TooLarge, ManifestError)


def test_the_simulator_refuses_specs_beyond_its_limit_itself() -> None:
    w = Workload("ns", "web", "Deployment", 10**9, PodTemplate(labels=(("app", "web"),)))
    with pytest.raises(SimulationError, match="can ask for 1000000000 pods"):
        SimulatedCluster(ClusterSpec("t", (), (w,)), seed=0)
    small = Workload("ns", "web", "Deployment", 1, PodTemplate(labels=(("app", "web"),)))
    hpa = HpaSpec("ns", "web", small.key, 1, 10**9)
    with pytest.raises(SimulationError, match="replicas and HPA maxima"):
        SimulatedCluster(ClusterSpec("t", (), (small,), hpas=(hpa,)), seed=0)


def test_skipped_objects_name_each_object_and_why(tmp_path: Path) -> None:
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"}, "spec": {"containers": [{"name": "a"}]}}
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all([bare, deployment("web", replicas="three")]))
    spec = load_manifests(tmp_path)
    assert not spec.workloads
    reasons = skipped_objects(spec)
    assert any(r.startswith("Deployment default/web (app.yaml:") and "spec.replicas must be" in r for r in reasons)
    assert any(r.startswith("Pod default/solo (app.yaml:1): a bare Pod") for r in reasons)
