"""Entry points, SLO and load annotations, PodDisruptionBudgets and HorizontalPodAutoscalers."""

from __future__ import annotations

from typing import Any

import pytest

from envs.spec import ClusterSpec, HpaSpec, LabelRequirement, LabelSelector, PdbSpec, Slo
from envs.twin import spec_from_objects
from tests.envs.twin.objects import deployment, node, service


def build(*objects: dict[str, Any]) -> ClusterSpec:
    return spec_from_objects([*objects, node("n")], name="t")


def entry_names(spec: ClusterSpec) -> list[str]:
    return [s.name for s in spec.services if s.entrypoint]


def ingress(api_version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Ingress", "metadata": {"name": "edge"}, "spec": spec}


def test_load_balancer_and_node_port_are_entry_points_cluster_ip_is_not() -> None:
    spec = build(
        deployment("web"),
        service("lb", selector={"app": "web"}, type="LoadBalancer"),
        service("np", selector={"app": "web"}, type="NodePort"),
        service("web"),
    )
    assert entry_names(spec) == ["lb", "np"]


def test_ingress_backends_are_entry_points() -> None:
    rules = {
        "rules": [
            {
                "host": "shop.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        },
                        {
                            "path": "/api",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "api", "port": {"name": "http"}}},
                        },
                    ]
                },
            }
        ],
        "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
    }
    spec = build(
        *(deployment(n) for n in ("web", "api", "fallback", "internal")),
        *(service(n) for n in ("web", "api", "fallback", "internal")),
        ingress("networking.k8s.io/v1", rules),
    )
    assert entry_names(spec) == ["api", "fallback", "web"]


def test_old_ingress_service_name_form_and_missing_backend_note() -> None:
    old = ingress(
        "extensions/v1beta1",
        {
            "backend": {"serviceName": "web", "servicePort": 80},
            "rules": [{"http": {"paths": [{"backend": {"serviceName": "gone"}}]}}],
        },
    )
    spec = build(deployment("web"), service("web"), old)
    assert entry_names(spec) == ["web"]
    assert any(
        "Ingress default/edge: routes to Service default/gone, which is not in the input" in n
        for n in spec.notes
    )


def test_entrypoint_annotation_adds_and_withdraws() -> None:
    spec = build(
        deployment("web"),
        service("web", annotations={"chaos-agent.io/entrypoint": "true"}),
        service(
            "admin",
            selector={"app": "web"},
            type="NodePort",
            annotations={"chaos-agent.io/entrypoint": "false"},
        ),
    )
    assert entry_names(spec) == ["web"]


def test_slo_and_load_annotations_and_their_defaults() -> None:
    spec = build(
        deployment("web", replicas=4, annotations={"chaos-agent.io/capacity-rps-per-pod": "50"}),
        service(
            "web",
            type="LoadBalancer",
            annotations={
                "chaos-agent.io/slo-availability": "99.9%",
                "chaos-agent.io/slo-latency-p99-ms": "300",
                "chaos-agent.io/load-rps": "42",
                "chaos-agent.io/base-latency-ms": "5",
                "chaos-agent.io/edge-retries": "2",
            },
        ),
        service("plain", selector={"app": "web"}, type="LoadBalancer"),
    )
    web, plain = spec.service("default/Service/web"), spec.service("default/Service/plain")
    assert web.slo.availability == pytest.approx(0.999) and web.slo.latency_p99_ms == 300.0
    assert (web.load_rps, web.base_latency_ms, web.edge_retries) == (42.0, 5.0, 2)
    assert plain.edge_retries == 0
    assert plain.slo == Slo()
    assert plain.load_rps == 100.0  # half of 4 pods x 50 rps
    assert any(
        "Service default/plain: entry point without chaos-agent.io/load-rps; assumed 100 rps" in n
        for n in spec.notes
    )


def test_bad_service_annotations_are_noted_and_defaults_used() -> None:
    spec = build(
        deployment("web"),
        service(
            "web",
            type="LoadBalancer",
            annotations={
                "chaos-agent.io/slo-availability": "high",
                "chaos-agent.io/slo-latency-p99-ms": "-1",
                "chaos-agent.io/entrypoint": "maybe",
                "chaos-agent.io/load": "5",
            },
        ),
    )
    web = spec.service("default/Service/web")
    assert web.slo == Slo() and web.entrypoint
    text = "\n".join(spec.notes)
    assert (
        "Service default/web: annotation chaos-agent.io/slo-availability='high' is invalid (allowed:" in text
    )
    assert "chaos-agent.io/slo-latency-p99-ms='-1' is invalid" in text
    assert 'chaos-agent.io/entrypoint=\'maybe\' is invalid (allowed: "true" or "false")' in text
    assert "unknown annotation chaos-agent.io/load ignored" in text


def test_unquoted_annotation_values_are_read_with_a_note() -> None:
    svc = service("web", type="LoadBalancer")
    svc["metadata"]["annotations"] = {"chaos-agent.io/load-rps": 120}
    spec = build(deployment("web"), svc)
    assert spec.service("default/Service/web").load_rps == 120.0
    assert any("chaos-agent.io/load-rps is not a quoted string" in n for n in spec.notes)


def test_entry_point_selecting_nothing_is_noted() -> None:
    spec = build(service("orphan", type="LoadBalancer"))
    assert any(
        "Service default/orphan: entry point that selects no modelled workload" in n for n in spec.notes
    )


def pdb(spec: dict[str, Any], api_version: str = "policy/v1") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
    }


@pytest.mark.parametrize(
    ("fields", "min_available", "max_unavailable"),
    [
        ({"minAvailable": 2}, 2, None),
        ({"minAvailable": "50%"}, "50%", None),
        ({"maxUnavailable": 1}, None, 1),
        ({"maxUnavailable": "34%"}, None, "34%"),
    ],
)
def test_pdb_counts_and_percentages(fields: dict[str, Any], min_available: Any, max_unavailable: Any) -> None:
    spec = build(deployment("web"), pdb(fields))
    assert spec.pdbs == (
        PdbSpec("default", "web", LabelSelector((("app", "web"),)), min_available, max_unavailable),
    )


def test_pdb_v1beta1_defaults_and_edge_cases() -> None:
    assert build(deployment("web"), pdb({}, "policy/v1beta1")).pdbs[0].min_available == 1
    neither = build(deployment("web"), pdb({}))
    assert neither.pdbs == () and any("sets neither" in n for n in neither.notes)
    both = build(deployment("web"), pdb({"minAvailable": 1, "maxUnavailable": 1}))
    assert both.pdbs == () and any("sets both" in n for n in both.notes)
    bad = build(deployment("web"), pdb({"minAvailable": "half"}))
    assert bad.pdbs == () and any(
        "skipped PodDisruptionBudget default/web: spec.minAvailable must be" in n for n in bad.notes
    )
    expr = pdb({"minAvailable": 1})
    expr["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}
    assert build(deployment("web"), expr).pdbs[0].selector.match_expressions == (
        LabelRequirement("app", "In", ("web",)),
    )


def hpa(api_version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, **spec},
    }


@pytest.mark.parametrize(
    ("api_version", "fields", "target"),
    [
        (
            "autoscaling/v2",
            {
                "minReplicas": 2,
                "maxReplicas": 8,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 60},
                        },
                    }
                ],
            },
            0.6,
        ),
        ("autoscaling/v1", {"minReplicas": 2, "maxReplicas": 8, "targetCPUUtilizationPercentage": 50}, 0.5),
        (
            "autoscaling/v2beta1",
            {
                "minReplicas": 2,
                "maxReplicas": 8,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "targetAverageUtilization": 70}}
                ],
            },
            0.7,
        ),
        ("autoscaling/v2", {"minReplicas": 2, "maxReplicas": 8}, 0.8),
    ],
)
def test_hpa_versions(api_version: str, fields: dict[str, Any], target: float) -> None:
    spec = build(deployment("web"), hpa(api_version, fields))
    (got,) = spec.hpas
    assert got.target_cpu_utilization == pytest.approx(target)
    assert got == HpaSpec("default", "web", "default/Deployment/web", 2, 8, got.target_cpu_utilization)
    # Kubernetes scales a 1-replica target up to minReplicas at once; the twin starts there.
    assert spec.workload("default/Deployment/web").replicas == 2


def test_hpa_memory_only_or_unknown_target_is_skipped() -> None:
    memory = hpa(
        "autoscaling/v2",
        {
            "maxReplicas": 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ],
        },
    )
    spec = build(deployment("web"), memory)
    assert spec.hpas == () and any("scales only on Resource memory" in n for n in spec.notes)
    spec = build(deployment("api"), hpa("autoscaling/v2", {"maxReplicas": 4}))
    assert spec.hpas == () and any("target Deployment default/web is not a modelled" in n for n in spec.notes)


def test_hpa_leaves_a_workload_scaled_to_zero_and_clamps_above_max() -> None:
    scaled_down = build(
        deployment("web", replicas=0), hpa("autoscaling/v2", {"minReplicas": 2, "maxReplicas": 5})
    )
    assert scaled_down.workload("default/Deployment/web").replicas == 0
    too_many = build(
        deployment("web", replicas=9), hpa("autoscaling/v2", {"minReplicas": 2, "maxReplicas": 5})
    )
    assert too_many.workload("default/Deployment/web").replicas == 5
    assert any("starts at 5 replicas" in n for n in too_many.notes)
