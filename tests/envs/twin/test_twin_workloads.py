"""Workloads: replicas, rollouts, requests, scheduling constraints, probes, storage and controllers."""

from __future__ import annotations

from typing import Any

import pytest

from envs.spec import AntiAffinity, LabelRequirement, LabelSelector, Probe, Toleration, Workload
from envs.twin import spec_from_objects
from tests.envs.twin.objects import container, deployment, job, node, statefulset


def one(obj: dict[str, Any], *more: dict[str, Any]) -> Workload:
    spec = spec_from_objects([obj, *more, node("n1")], name="t")
    assert len(spec.workloads) == 1, spec.notes
    return spec.workloads[0]


@pytest.mark.parametrize(
    ("replicas", "strategy", "unavailable", "surge"),
    [
        (4, None, 1, 1),  # 25% / 25%
        (3, None, 0, 1),  # 0.75 rounds down / up
        (10, None, 2, 3),
        (1, None, 0, 1),
        (10, {"rollingUpdate": {"maxUnavailable": "30%", "maxSurge": "10%"}}, 3, 1),
        (5, {"rollingUpdate": {"maxUnavailable": 2, "maxSurge": 0}}, 2, 0),
        (3, {"rollingUpdate": {"maxUnavailable": "10%", "maxSurge": "0%"}}, 1, 0),  # both 0: unavailable 1
        (4, {"type": "Recreate"}, 4, 0),
    ],
)
def test_deployment_rollout_parameters(replicas: int, strategy: Any, unavailable: int, surge: int) -> None:
    w = one(deployment("web", replicas=replicas, strategy=strategy))
    assert (w.max_unavailable, w.max_surge) == (unavailable, surge)
    assert w.replicas == replicas


def test_statefulset_rolls_one_at_a_time_or_max_unavailable_rounded_down() -> None:
    assert one(statefulset("db", replicas=5)).max_unavailable == 1
    sts = statefulset("db", replicas=5)
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}}
    w = one(sts)
    assert (w.max_unavailable, w.max_surge) == (2, 0)


def test_persistent_storage_from_claim_templates_or_pvc_volume() -> None:
    assert one(statefulset("db")).persistent_storage
    assert not one(statefulset("cache", claims=False)).persistent_storage
    with_pvc = statefulset(
        "db", claims=False, volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "x"}}]
    )
    assert one(with_pvc).persistent_storage
    empty_dir = statefulset("tmp", claims=False, volumes=[{"name": "d", "emptyDir": {}}])
    assert not one(empty_dir).persistent_storage


def test_requests_sum_over_containers_and_fall_back_to_limits() -> None:
    limits_only = container("side", cpu=None, memory=None)
    limits_only["resources"] = {"limits": {"cpu": "250m", "memory": "64Mi"}}
    w = one(deployment("web", containers=[container("app", cpu="0.5", memory="1Gi"), limits_only]))
    assert (w.template.cpu_millis, w.template.memory_mib) == (750, 1088)


def test_init_containers_count_as_the_larger_of_init_and_app() -> None:
    init = container("migrate", cpu="2", memory="64Mi")
    w = one(deployment("web", containers=[container(cpu="500m", memory="1Gi")], initContainers=[init]))
    assert (w.template.cpu_millis, w.template.memory_mib) == (2000, 1024)


def test_gpus_come_from_limits() -> None:
    w = one(job("train", containers=[container(cpu="8", memory="32Gi", gpus=2)]))
    assert w.template.gpus == 2


def test_missing_requests_use_scheduler_defaults_with_a_note() -> None:
    spec = spec_from_objects(
        [deployment("web", containers=[container(cpu=None, memory=None)]), node("n")], name="t"
    )
    w = spec.workloads[0]
    assert (w.template.cpu_millis, w.template.memory_mib) == (100, 200)
    assert any("scheduler's defaults" in n and "default/web" in n for n in spec.notes)


def test_node_selector_affinity_anti_affinity_and_tolerations() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "pool", "operator": "In", "values": ["a", "b"]},
                            {"key": "spot", "operator": "DoesNotExist"},
                        ]
                    },
                    {"matchExpressions": [{"key": "dedicated", "operator": "Exists"}]},
                ]
            }
        },
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}
            ],
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "podAffinityTerm": {
                        "topologyKey": "topology.kubernetes.io/zone",
                        "labelSelector": {
                            "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]
                        },
                    },
                }
            ],
        },
    }
    tolerations = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 60,
        },
        {"key": "team", "value": "ml"},
        {"operator": "Exists"},
    ]
    w = one(deployment("web", nodeSelector={"disk": "ssd"}, affinity=affinity, tolerations=tolerations))
    t = w.template
    assert t.node_selector == (("disk", "ssd"),)
    assert t.node_affinity == (
        (LabelRequirement("pool", "In", ("a", "b")), LabelRequirement("spot", "DoesNotExist")),
        (LabelRequirement("dedicated", "Exists"),),
    )
    assert t.anti_affinity == (
        AntiAffinity(LabelSelector((("app", "web"),)), "kubernetes.io/hostname", True),
        AntiAffinity(
            LabelSelector((), (LabelRequirement("app", "In", ("web",)),)),
            "topology.kubernetes.io/zone",
            False,
            weight=10,
        ),
    )
    assert t.tolerations == (
        Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),
        Toleration("node.kubernetes.io/unreachable", "Exists", "", "NoExecute", 60.0),
        Toleration("team", "Equal", "ml"),
        Toleration(None, "Exists"),
    )


def test_probes_take_kubernetes_defaults_and_grace_period() -> None:
    c = container(
        readinessProbe={"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 5},
        livenessProbe={"tcpSocket": {"port": 80}, "periodSeconds": 20, "failureThreshold": 6},
    )
    w = one(deployment("web", containers=[c], terminationGracePeriodSeconds=5))
    assert w.template.readiness_probe == Probe(
        initial_delay_s=5, period_s=10, failure_threshold=3, success_threshold=1
    )
    assert w.template.liveness_probe == Probe(initial_delay_s=0, period_s=20, failure_threshold=6)
    assert w.template.termination_grace_s == 5
    plain = one(deployment("api"))
    assert plain.template.readiness_probe is None
    assert plain.template.termination_grace_s == 30


def test_job_runs_min_of_parallelism_and_completions() -> None:
    assert one(job("j", parallelism=4, completions=2)).replicas == 2
    assert one(job("j", parallelism=3)).replicas == 3
    assert one(job("j")).replicas == 1
    assert one(job("j", suspend=True)).replicas == 0


def test_cronjob_is_one_run_of_its_job_template_with_a_note() -> None:
    template = job("nightly")["spec"]
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "ops"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {**template, "parallelism": 2}}},
    }
    spec = spec_from_objects([cron, node("n")], name="t")
    assert [(w.key, w.replicas, w.role) for w in spec.workloads] == [("ops/Job/nightly", 2, "batch")]
    assert any("CronJob ops/nightly: modelled as one run of its jobTemplate" in n for n in spec.notes)
    cron["spec"]["suspend"] = True
    suspended = spec_from_objects([cron, node("n")], name="t")
    assert suspended.workloads == ()
    assert any("suspended" in n for n in suspended.notes)


def test_jobs_a_cronjob_made_are_instances_of_it() -> None:
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": job("x")["spec"]}},
    }
    made = job("nightly-28771200")
    made["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "u", "controller": True}
    ]
    spec = spec_from_objects([cron, made, node("n")], name="t")
    assert [w.key for w in spec.workloads] == ["default/Job/nightly"]


def test_finished_jobs_are_skipped() -> None:
    done = job("seed")
    done["status"] = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
    spec = spec_from_objects([done, node("n")], name="t")
    assert spec.workloads == ()
    assert any("skipped Job default/seed" in n and "completed" in n for n in spec.notes)


def test_daemonsets_reserve_capacity_on_the_nodes_they_run_on() -> None:
    ds = deployment(
        "agent",
        containers=[container(cpu="200m", memory="256Mi")],
        nodeSelector={"gpu": "true"},
        tolerations=[{"key": "gpu", "operator": "Exists"}],
    )
    ds["kind"] = "DaemonSet"
    gpu_taint = [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
    spec = spec_from_objects(
        [
            ds,
            node("plain"),
            node("gpu-1", gpu="true", taints=gpu_taint),
            node("gpu-2", gpu="true", taints=[{"key": "other", "effect": "NoExecute"}]),
        ],
        name="t",
    )
    by_name = {n.name: n for n in spec.nodes}
    assert (by_name["plain"].cpu_millis, by_name["plain"].memory_mib) == (4000, 16384)
    assert (by_name["gpu-1"].cpu_millis, by_name["gpu-1"].memory_mib) == (3800, 16128)
    assert by_name["gpu-2"].cpu_millis == 4000  # an untolerated NoExecute taint keeps it off
    assert spec.workloads == ()
    assert any("DaemonSet default/agent: not a workload" in n and "1 node(s)" in n for n in spec.notes)


def test_bare_pods_and_standalone_replicasets_are_noted_not_modelled() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "debug"},
        "spec": {"containers": [container()]},
    }
    rs = deployment("legacy")
    rs["kind"] = "ReplicaSet"
    spec = spec_from_objects([pod, rs, node("n")], name="t")
    assert spec.workloads == ()
    assert any(n.startswith("skipped Pod default/debug: a bare Pod") for n in spec.notes)
    assert any(n.startswith("skipped ReplicaSet default/legacy") for n in spec.notes)


def test_pods_and_replicasets_of_a_listed_deployment_are_instances() -> None:
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-5d9f8",
        "uid": "u",
        "controller": True,
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-5d9f8-abcde",
            "labels": {"app": "web", "pod-template-hash": "5d9f8"},
            "ownerReferences": [owner],
        },
        "spec": {"nodeName": "n", "containers": [container()]},
        "status": {"phase": "Running"},
    }
    spec = spec_from_objects([deployment("web"), pod, node("n")], name="t")
    assert [w.key for w in spec.workloads] == ["default/Deployment/web"]
    assert not any("Pod" in n for n in spec.notes)
    orphan = spec_from_objects([pod, node("n")], name="t")
    assert any("made by Deployment default/web, which is not in the input" in n for n in orphan.notes)


def test_static_pods_are_silent() -> None:
    mirror = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "kube-apiserver-cp1",
            "namespace": "kube-system",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": "cp1", "uid": "u", "controller": True}
            ],
        },
        "spec": {"containers": [container()]},
    }
    spec = spec_from_objects([mirror, node("cp1")], name="t")
    assert spec.workloads == () and spec.notes == ()


def test_unmodelled_scheduling_features_are_noted() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "cores", "operator": "Gt", "values": ["8"]},
                            {"key": "pool", "operator": "In", "values": ["a"]},
                        ],
                        "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}],
                    }
                ]
            }
        },
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}
            ]
        },
    }
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
        }
    ]
    spec = spec_from_objects(
        [deployment("web", affinity=affinity, topologySpreadConstraints=spread), node("n")], name="t"
    )
    assert spec.workloads[0].template.node_affinity == (
        (
            LabelRequirement("pool", "In", ("a",)),
            LabelRequirement("kubernetes.io/hostname", "In", ("node-1",)),
        ),
    )
    text = "\n".join(spec.notes)
    assert "Deployment default/web: node affinity operator Gt on cores (ignored)" in text
    assert "pod affinity" not in text and "topologySpreadConstraints" not in text  # both are modelled now
    t = spec.workloads[0].template
    assert [a.selector.match_labels for a in t.pod_affinity] == [(("app", "db"),)]
    assert [(c.max_skew, c.topology_key, c.schedule_anyway) for c in t.spread] == [
        (1, "topology.kubernetes.io/zone", False)
    ]


def test_pod_template_annotations_win_over_workload_annotations() -> None:
    obj = deployment(
        "web",
        annotations={"chaos-agent.io/capacity-rps-per-pod": "10", "team": "shop"},
        template_annotations={"chaos-agent.io/capacity-rps-per-pod": "40"},
    )
    w = one(obj)
    assert w.capacity_rps_per_pod == 40.0
    assert dict(w.annotations)["team"] == "shop"


def test_workload_tuning_annotations() -> None:
    w = one(
        deployment(
            "web",
            annotations={
                "chaos-agent.io/startup": "45s",
                "chaos-agent.io/leader-failover": "15s",
                "chaos-agent.io/rollout-every": "6h",
                "chaos-agent.io/capacity-rps-per-pod": "250",
            },
        )
    )
    assert (w.template.startup_s, w.leader_failover_s, w.rollout_every_s, w.capacity_rps_per_pod) == (
        45.0,
        15.0,
        21600.0,
        250.0,
    )
    defaults = one(deployment("api"))
    assert (
        defaults.template.startup_s,
        defaults.leader_failover_s,
        defaults.rollout_every_s,
        defaults.capacity_rps_per_pod,
    ) == (5.0, 0.0, 0.0, 100.0)


def test_unknown_contract_annotation_is_noted() -> None:
    spec = spec_from_objects(
        [deployment("web", annotations={"chaos-agent.io/retries": "3"}), node("n")], name="t"
    )
    assert any(
        "Deployment default/web: unknown annotation chaos-agent.io/retries ignored" in n for n in spec.notes
    )
