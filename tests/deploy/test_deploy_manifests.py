"""The rendered overlays are valid Kubernetes 1.32 objects that run the agent safely and as configured.

Schemas come from kubernetes-validate (offline). The pod checks are the "restricted" Pod Security
Standard plus what the agent itself needs: its probes, its config, one writable volume.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
from deploy_manifests import DEPLOY, KUSTOMIZATIONS, OVERLAYS, REPO, Manifest, find, one, pod_templates

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
    unchecked = {"Pod", "Job", "Deployment", "DaemonSet", "ReplicaSet"} & {o["kind"] for o in rendered[name]}
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


def state_volume(objects: list[Manifest], workload: str) -> Manifest:
    """Where a workload's pods keep the journal: its StatefulSet's claim template, or a pod volume."""
    for sts in find(objects, "StatefulSet", workload):
        (claim,) = [c for c in sts["spec"]["volumeClaimTemplates"] if c["metadata"]["name"] == "state"]
        return {"name": "state", "claimTemplate": claim}
    for _name, template in pod_templates(objects):
        for volume in template["spec"]["volumes"]:
            if volume["name"] == "state":
                return dict(volume)
    raise AssertionError(f"{workload} has no state volume")


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
        assert mounts[STATE_DIR]["name"] == "state"
        ports = {p["name"]: p["containerPort"] for p in agent["ports"]}
        assert ports == {"http": 8080}, workload
        assert agent["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, workload
        assert agent["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, workload
        env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in agent["env"]}
        assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}, workload
        assert pod["terminationGracePeriodSeconds"] >= 60, "reverting open faults on SIGTERM takes time"


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_the_journal_lives_on_a_persistent_volume_claim(rendered: dict[str, list[Manifest]], name: str) -> None:
    """Not an emptyDir: the audit trail outlives the pod (a StatefulSet's claim per replica, or the game
    day's claim)."""
    objects = rendered[name]
    for workload, _template in pod_templates(objects):
        volume = state_volume(objects, workload)
        assert "emptyDir" not in volume, f"{workload}: the journal would be lost with the pod"
        if "claimTemplate" in volume:
            claim = volume["claimTemplate"]["spec"]
        else:
            claim = one(objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])["spec"]
        assert claim["accessModes"] == ["ReadWriteOnce"] and claim["resources"]["requests"]["storage"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_is_configured_and_reachable(rendered: dict[str, list[Manifest]], overlay: str,
                                                tmp_path: Path) -> None:
    """Every overlay judges steady state from Prometheus, so the fail-closed path is on: while Prometheus
    does not answer, nothing is injected. Its address is one the NetworkPolicy lets the agent reach."""
    path = tmp_path / "config.toml"
    path.write_text(config_toml(rendered[overlay]))
    prometheus = load_config(path).prometheus
    assert prometheus.enabled, f"{overlay}: Prometheus off, so no steady state and no fail-closed check"
    host = urlsplit(prometheus.url).hostname or ""
    service, namespace = host.split(".")[:2]
    assert host.endswith(".svc") and namespace == "monitoring", prometheus.url
    egress = one(rendered[overlay], "NetworkPolicy", "chaos-agent")["spec"]["egress"]
    in_namespace = {"kubernetes.io/metadata.name": namespace}
    to_namespace = [r for r in egress for peer in r.get("to", [])
                    if peer.get("namespaceSelector", {}).get("matchLabels") == in_namespace]
    assert any({"port": urlsplit(prometheus.url).port, "protocol": "TCP"} in r["ports"] for r in to_namespace)
    assert service


@pytest.mark.parametrize("overlay", ["dry-run", "enabled"])
def test_continuous_overlays_run_two_replicas_with_a_budget(
        rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    sts = one(objects, "StatefulSet", "chaos-agent")
    assert sts["spec"]["replicas"] == 2, "leader election needs a standby"
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert one(objects, "Service", sts["spec"]["serviceName"])["spec"]["clusterIP"] == "None"
    assert find(objects, "CronJob") == [] and find(objects, "Deployment") == []
    pdb = one(objects, "PodDisruptionBudget", "chaos-agent")
    assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_game_day_runs_only_on_schedule_bounded_and_never_retried(
        rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["game-day"]
    assert find(objects, "StatefulSet") == [], "game-day has no continuous agent"
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
    """The CronJob's pod spec is a copy of the StatefulSet's: this catches the two drifting apart."""
    sts_pod = one(rendered["dry-run"], "StatefulSet")["spec"]["template"]["spec"]
    job_pod = one(rendered["game-day"], "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    differs_by_design = {"restartPolicy", "volumes", "topologySpreadConstraints"}
    assert {k: v for k, v in job_pod.items() if k not in differs_by_design and k != "containers"} == {
        k: v for k, v in sts_pod.items() if k not in differs_by_design and k != "containers"}
    assert job_pod["containers"] == sts_pod["containers"]
    # the StatefulSet's state comes from its claim template, the job's from a claim
    assert [v["name"] for v in job_pod["volumes"]] == [v["name"] for v in sts_pod["volumes"]] + ["state"]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


API_SERVER_PLACEHOLDER = "192.0.2.1/32"
"""TEST-NET-1, a documentation address: a user replaces it with the API server's (docs/deployment.md)."""


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
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(8080, "http")]


PROMETHEUS_PODS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                   "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
KUBE_DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_network_policy_lets_in_only_prometheus_and_out_only_what_the_agent_talks_to(
        rendered: dict[str, list[Manifest]], name: str) -> None:
    """Ingress: port 8080 from Prometheus pods only. Egress: the API server (an ipBlock, never any host),
    Prometheus and DNS; every rule names both its peers and its ports (no rule open to every address)."""
    policy = one(rendered[name], "NetworkPolicy", "chaos-agent")["spec"]
    assert policy["ingress"] == [{"from": [PROMETHEUS_PODS], "ports": [{"port": 8080, "protocol": "TCP"}]}]
    for rule in policy["egress"]:
        assert rule.get("to") and rule.get("ports"), f"an egress rule open to every peer or port: {rule}"
        for peer in rule["to"]:
            assert peer.get("ipBlock", {}).get("cidr") not in ("0.0.0.0/0", "::/0"), rule
    rules = {(tuple(sorted(str(peer) for peer in r["to"])), tuple((p["port"], p["protocol"]) for p in r["ports"]))
             for r in policy["egress"]}
    assert rules == {
        ((str({"ipBlock": {"cidr": API_SERVER_PLACEHOLDER}}),), ((443, "TCP"), (6443, "TCP"))),
        ((str(PROMETHEUS_PODS),), ((9090, "TCP"),)),
        ((str(KUBE_DNS),), ((53, "UDP"), (53, "TCP"))),
    }


def test_the_api_server_address_to_replace_is_documented() -> None:
    docs = (REPO / "docs" / "deployment.md").read_text()
    assert API_SERVER_PLACEHOLDER in docs and "kubectl get endpoints kubernetes" in docs


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
        elif obj["kind"] == "RoleBinding" and meta["name"] != "chaos-agent-own-namespace":
            continue  # bound in a target namespace on purpose (data faults, confined RBAC, node events)
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
