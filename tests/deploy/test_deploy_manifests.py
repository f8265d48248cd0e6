"""The rendered overlays are valid Kubernetes 1.32 objects that run the agent safely and as configured.

Schemas come from kubernetes-validate (offline). The pod checks are the "restricted" Pod Security
Standard plus what the agent itself needs: its probes, its config, one writable volume.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
from deploy_manifests import DEPLOY, KUSTOMIZATIONS, OVERLAYS, Manifest, find, one, pod_templates

from agent.config import load_config

KUBERNETES_VERSION = "1.32.0"  # the kubectl on the machine and the oldest cluster we document
# Kinds defined by CRDs have no schema in kubernetes-validate: they are checked by the tests below.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
STATE_DIR = "/var/lib/chaos-agent"
CONFIG_DIR = "/etc/chaos-agent"
EXPECTED_DRY_RUN = {"dry-run": "plan", "enabled": "off", "game-day": "off"}


def config_toml(objects: list[Manifest]) -> str:
    configmaps = [c for c in find(objects, "ConfigMap")
                  if c["metadata"]["name"].startswith("chaos-agent-config")]
    assert len(configmaps) == 1, f"expected one chaos-agent-config ConfigMap, found {len(configmaps)}"
    return str(configmaps[0]["data"]["config.toml"])


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_objects_match_the_kubernetes_schemas(rendered: dict[str, list[Manifest]], name: str) -> None:
    for obj in rendered[name]:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {obj['kind']} {obj['metadata']['name']}: {e.message} at {list(e.path)}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_is_valid_and_leashed_as_the_overlay_says(
        rendered: dict[str, list[Manifest]], overlay: str, tmp_path: Path) -> None:
    text = config_toml(rendered[overlay])
    raw = tomllib.loads(text)
    assert raw["safety"]["dry_run"] == EXPECTED_DRY_RUN[overlay]
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load_config(path)  # the agent's own parser: unknown keys and bad values are refused
    assert config.safety.dry_run == EXPECTED_DRY_RUN[overlay]
    assert config.cluster.backend == "kubernetes"
    assert config.cluster.kubernetes.kubeconfig is None, "in a pod the agent uses its ServiceAccount"
    assert config.agent.namespace == "chaos-agent"
    assert config.service.listen_host == "0.0.0.0", "the kubelet's probes and Prometheus reach the pod IP"
    for written in (config.audit.path, config.findings.path):
        assert written.is_relative_to(STATE_DIR), f"{written} is outside the writable volume {STATE_DIR}"


def test_overlay_configs_differ_from_the_default_only_where_they_mean_to() -> None:
    def settings(path: Path) -> dict[str, Any]:
        return tomllib.loads(path.read_text())

    base = settings(DEPLOY / "base" / "config.toml")
    assert settings(DEPLOY / "overlays" / "dry-run" / "config.toml") == base
    enabled = settings(DEPLOY / "overlays" / "enabled" / "config.toml")
    assert enabled == {**base, "safety": {**base["safety"], "dry_run": "off"}}
    game_day = settings(DEPLOY / "overlays" / "game-day" / "config.toml")
    game_day.pop("safety")
    assert game_day == {k: v for k, v in base.items() if k != "safety"}


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_pods_meet_the_restricted_standard(rendered: dict[str, list[Manifest]], name: str) -> None:
    specs = pod_templates(rendered[name])
    assert specs, f"{name} runs no agent"
    unchecked = {"Pod", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"} & {o["kind"] for o in rendered[name]}
    assert not unchecked, f"{name} runs pods these tests do not check: extend pod_templates for {unchecked}"
    for workload, template in specs:
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, workload
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), workload
        assert pod["serviceAccountName"] == "chaos-agent", workload
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (workload, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (workload, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (workload, c["name"])
            assert sc.get("runAsUser", pod["securityContext"].get("runAsUser", 0)) != 0, (workload, c["name"])
            assert sc.get("privileged") in (None, False), (workload, c["name"])
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), (workload, c["name"])
            assert "memory" in c["resources"]["limits"], (workload, c["name"])


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_agent_gets_its_config_probes_and_one_writable_volume(
        rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    configmap_name = next(c["metadata"]["name"] for c in find(objects, "ConfigMap")
                          if c["metadata"]["name"].startswith("chaos-agent-config"))
    for workload, template in pod_templates(objects):
        pod = template["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        (agent,) = pod["containers"]
        command = ["chaos-agent", "run", "--config", f"{CONFIG_DIR}/config.toml"]
        assert agent["command"] + agent["args"] == command, workload
        mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}
        assert set(mounts) == {CONFIG_DIR, STATE_DIR}, workload
        assert mounts[CONFIG_DIR]["readOnly"] is True
        # the hash-suffixed name: a config change rolls the pods
        assert volumes[mounts[CONFIG_DIR]["name"]]["configMap"]["name"] == configmap_name, workload
        assert not mounts[STATE_DIR].get("readOnly"), workload
        ports = {p["name"]: p["containerPort"] for p in agent["ports"]}
        assert ports == {"http": 8080}, workload
        assert agent["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, workload
        assert agent["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, workload
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in agent["env"]}
        assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}, workload
        assert pod["terminationGracePeriodSeconds"] >= 60, "reverting open faults on SIGTERM takes time"


@pytest.mark.parametrize("overlay", ["dry-run", "enabled"])
def test_continuous_overlays_run_two_replicas_with_a_budget(
        rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    deployment = one(objects, "Deployment", "chaos-agent")
    assert deployment["spec"]["replicas"] == 2, "leader election needs a standby"
    assert find(objects, "CronJob") == []
    pdb = one(objects, "PodDisruptionBudget", "chaos-agent")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_game_day_runs_only_on_schedule_bounded_and_never_retried(
        rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["game-day"]
    assert find(objects, "Deployment") == [], "game-day has no continuous agent"
    assert find(objects, "PodDisruptionBudget") == []
    cronjob = one(objects, "CronJob", "chaos-agent-game-day")
    spec, job = cronjob["spec"], cronjob["spec"]["jobTemplate"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5 and spec["timeZone"]
    assert job["backoffLimit"] == 0
    assert 0 < job["activeDeadlineSeconds"] <= 8 * 3600
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    volumes = {v["name"]: v for v in job["template"]["spec"]["volumes"]}
    claim = volumes["state"]["persistentVolumeClaim"]["claimName"]
    assert one(objects, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_game_day_pod_matches_the_continuous_pod(rendered: dict[str, list[Manifest]]) -> None:
    """The CronJob's pod spec is a copy of the Deployment's: this catches the two drifting apart."""
    deployment_pod = one(rendered["dry-run"], "Deployment")["spec"]["template"]["spec"]
    job_pod = one(rendered["game-day"], "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    differs_by_design = {"restartPolicy", "volumes", "topologySpreadConstraints"}
    assert {k: v for k, v in job_pod.items() if k not in differs_by_design and k != "containers"} == {
        k: v for k, v in deployment_pod.items() if k not in differs_by_design and k != "containers"}
    assert job_pod["containers"] == deployment_pod["containers"]
    assert [v["name"] for v in job_pod["volumes"]] == [v["name"] for v in deployment_pod["volumes"]]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_network_policy_and_service_reach_every_agent_pod(
        rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    policy = one(objects, "NetworkPolicy", "chaos-agent")["spec"]
    service = one(objects, "Service", "chaos-agent-metrics")["spec"]
    for workload, template in pod_templates(objects):
        labels = template["metadata"]["labels"]
        assert selects(policy["podSelector"]["matchLabels"], labels), f"{workload} escapes the NetworkPolicy"
        assert selects(service["selector"], labels), f"{workload} is not scraped"
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    ingress_ports = [p for rule in policy["ingress"] for p in rule["ports"]]
    assert ingress_ports == [{"port": 8080, "protocol": "TCP"}]
    egress = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress == {(443, "TCP"), (6443, "TCP"), (9090, "TCP"), (53, "UDP"), (53, "TCP")}
    assert all("ports" in rule for rule in policy["egress"]), "every egress rule is limited to its ports"
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(8080, "http")]


def test_service_monitor_scrapes_the_metrics_service(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["example/with-servicemonitor"]
    monitor = one(objects, "ServiceMonitor", "chaos-agent")
    service = one(objects, "Service", "chaos-agent-metrics")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [p["name"] for p in service["spec"]["ports"]]
    for overlay in OVERLAYS:
        assert find(rendered[overlay], "ServiceMonitor") == [], (
            "overlays must apply on clusters without the Prometheus Operator")


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_everything_lives_in_the_restricted_agent_namespace(
        rendered: dict[str, list[Manifest]], name: str) -> None:
    objects = rendered[name]
    namespace = one(objects, "Namespace", "chaos-agent")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] in cluster_scoped:
            assert "namespace" not in meta, f"{obj['kind']} {meta['name']}"
        elif (obj["kind"], meta["name"]) == ("RoleBinding", "chaos-agent-data-faults"):
            continue  # bound in a target namespace on purpose
        else:
            assert meta.get("namespace") == "chaos-agent", f"{obj['kind']} {meta['name']} is elsewhere"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_images_are_from_a_registry_and_pinned(rendered: dict[str, list[Manifest]], name: str) -> None:
    for workload, template in pod_templates(rendered[name]):
        for c in template["spec"]["containers"]:
            image = c["image"]
            reference = image.partition("@")[0]
            tag = reference.rsplit("/", 1)[-1].partition(":")[2]
            assert "/" in reference, f"{workload}: image {image!r} names no registry (set it in the overlay)"
            pinned = "@sha256:" in image or (tag and tag != "latest")
            assert pinned, f"{workload}: image {image!r} is not pinned"
