"""What the twin cannot model is noted and skipped, never a crash; the output is deterministic."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from envs.twin import spec_from_objects
from tests.envs.twin.objects import config_map, container, deployment, job, node, service, statefulset


def test_unknown_kinds_get_one_note_each() -> None:
    crd_object = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "mon"},
        "spec": {},
    }
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello"},
        "spec": {"template": {}},
    }
    netpol = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
    }
    spec = spec_from_objects([crd_object, knative, netpol, crd, deployment("web"), node("n")], name="t")
    assert [w.name for w in spec.workloads] == ["web"]
    assert spec.services == ()
    skipped = [n for n in spec.notes if n.startswith("skipped")]
    assert skipped == [
        "skipped CustomResourceDefinition (apiextensions.k8s.io/v1) widgets.example.com: "
        "kind not modelled by the twin",
        "skipped NetworkPolicy (networking.k8s.io/v1) default/deny: kind not modelled by the twin",
        "skipped Service (serving.knative.dev/v1) default/hello: kind not modelled by the twin",
        "skipped ServiceMonitor (monitoring.coreos.com/v1) mon/web: kind not modelled by the twin",
    ]


def test_irrelevant_kinds_are_silent() -> None:
    objs = [
        {"apiVersion": "v1", "kind": k, "metadata": {"name": "x"}}
        for k in (
            "Secret",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "Namespace",
            "PersistentVolumeClaim",
            "Endpoints",
        )
    ]
    spec = spec_from_objects([*objs, config_map("cfg", {"a": "b"}), node("n")], name="t")
    assert spec.notes == ()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (
            lambda d: d["spec"].__setitem__("replicas", "three"),
            "spec.replicas must be an integer, got 'three'",
        ),
        (lambda d: d["spec"].__setitem__("replicas", -1), "spec.replicas must be a non-negative integer"),
        (
            lambda d: d["spec"]["template"]["spec"].__setitem__("containers", []),
            "containers must be a non-empty list",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].__setitem__(
                "cpu", "fast"
            ),
            "resources.requests.cpu must be a quantity",
        ),
        (
            lambda d: d["spec"]["template"]["metadata"]["labels"].__setitem__("version", 2),
            "metadata.labels.version must be a string",
        ),
        (lambda d: d["spec"].__setitem__("strategy", {"type": "BlueGreen"}), "spec.strategy.type must be"),
        (
            lambda d: d["spec"].__setitem__("strategy", {"rollingUpdate": {"maxSurge": "lots"}}),
            "maxSurge must be a non-negative integer or a percentage",
        ),
        (
            lambda d: d["spec"]["template"]["spec"].__setitem__("tolerations", [{"operator": "Maybe"}]),
            "tolerations[0].operator must be Equal or Exists",
        ),
        (lambda d: d["spec"].__setitem__("template", "oops"), "spec.template must be a mapping"),
        (lambda d: d["spec"].pop("template"), "spec.template must be a pod template"),
    ],
)
def test_malformed_workloads_are_noted_and_skipped(mutate: Any, fragment: str) -> None:
    bad = deployment("bad")
    mutate(bad)
    spec = spec_from_objects([bad, deployment("good"), node("n")], name="t")
    assert [w.name for w in spec.workloads] == ["good"]
    assert any(n.startswith("skipped Deployment default/bad: ") and fragment in n for n in spec.notes), (
        spec.notes
    )


def test_objects_without_identity_are_noted() -> None:
    spec = spec_from_objects(
        [
            {"metadata": {"name": "x"}},
            {"kind": "Deployment"},
            {"kind": "Service", "metadata": {"generateName": "web-"}},
            node("n"),
        ],
        name="t",
    )
    assert [n for n in spec.notes if n.startswith("skipped an object")] == [
        "skipped an object: Deployment without metadata; not a Kubernetes object the twin can read",
        "skipped an object: Service without metadata.name; not a Kubernetes object the twin can read",
        "skipped an object: no kind; not a Kubernetes object the twin can read",
    ]


def test_live_objects_with_server_fields_parse() -> None:
    live = deployment("web", namespace="shop", replicas=3)
    live["metadata"].update(
        {
            "uid": "3b1e4c2d",
            "resourceVersion": "1872950",
            "generation": 2,
            "creationTimestamp": "2024-10-02T09:40:13Z",
            "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}],
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Application",
                    "name": "shop",
                    "uid": "x",
                    "controller": True,
                }
            ],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"big": "json"}',
                "deployment.kubernetes.io/revision": "2",
            },
        }
    )
    live["status"] = {
        "replicas": 3,
        "readyReplicas": 3,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    spec = spec_from_objects([live, node("n")], name="t")
    w = spec.workload("shop/Deployment/web")
    assert w.replicas == 3
    assert dict(w.annotations) == {"deployment.kubernetes.io/revision": "2"}
    assert not any("web" in n for n in spec.notes)


def test_output_is_deterministic_under_input_order() -> None:
    objects = [
        deployment("web", containers=[container(env={"A": "api:80", "C": "cache:6379"})]),
        deployment("api", containers=[container(env={"DB": "db:5432"})]),
        deployment("cache", containers=[container(image="redis:7")]),
        statefulset("db"),
        job("etl"),
        service("web", type="LoadBalancer"),
        service("api"),
        service("cache"),
        service("db"),
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    ]
    first = spec_from_objects(copy.deepcopy(objects), name="t")
    rng = random.Random(7)
    for _ in range(5):
        shuffled = copy.deepcopy(objects)
        rng.shuffle(shuffled)
        assert spec_from_objects(shuffled, name="t") == first
    assert [w.key for w in first.workloads] == sorted(w.key for w in first.workloads)
    assert [n.name for n in first.nodes] == sorted(n.name for n in first.nodes)
