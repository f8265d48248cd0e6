"""The Helm chart deploy/helm/chaos-agent, rendered and linted by real helm, is the Kustomize deployment.

Each variant's values render the same essential objects as its kustomization (kind, name, namespace,
spec, RBAC rules and bindings, the parsed config.toml; not the labels each tool adds, nor how each rolls
pods on a config change), every object passes the Kubernetes schemas, and the RBAC passes the same
least-privilege check against the recorded calls. helm comes from the control-plane build's cache
(``tests/servers/go_modules.cached_binary("helm")``): without it these tests skip, except with CI=true.
"""

from __future__ import annotations

import copy
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml
from deploy_manifests import DEPLOY, Manifest
from rbac_check import check_least_privilege, confined_to

from tests.agent.backends.kubernetes.repertoire import Call
from tests.servers.go_modules import require_cached_binary

CHART = DEPLOY / "helm" / "chaos-agent"
NAMESPACE = "chaos-agent"
API_SERVER = "192.0.2.1/32"  # the Kustomize base's placeholder, so the two render the same policy
COMMON: dict[str, Any] = {"createNamespace": True, "networkPolicy": {"apiServerCIDRs": [API_SERVER]}}
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "dry-run": ({"mode": "dry-run"}, "dry-run"),
    "enabled": ({"mode": "enabled"}, "enabled"),
    "game-day": ({"mode": "game-day"}, "game-day"),
    "servicemonitor": ({"serviceMonitor": {"enabled": True}}, "example/with-servicemonitor"),
    "data-faults": ({"rbac": {"dataFaultNamespaces": ["ml"]}}, "example/data-faults"),
    "namespaced": ({"rbac": {"namespaces": ["shop", "ml"], "dataFaultNamespaces": ["ml"]}}, "example/namespaced"),
}
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def helm(*args: str, values: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_cached_binary("helm")
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump(values))
    return subprocess.run([str(binary), *args, "-f", str(file)], capture_output=True, text=True, timeout=120,
                          check=False)


def render_chart(values: dict[str, Any], tmp_path: Path) -> list[Manifest]:
    result = helm("template", "chaos-agent", str(CHART), "--namespace", NAMESPACE, values=values, tmp_path=tmp_path)
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Manifest]]:
    return {name: render_chart(merged(COMMON, values), tmp_path_factory.mktemp(name.replace("/", "-")))
            for name, (values, _k) in VARIANTS.items()}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_chart_lints_strictly(name: str, tmp_path: Path) -> None:
    result = helm("lint", str(CHART), "--strict", "--namespace", NAMESPACE,
                  values=merged(COMMON, VARIANTS[name][0]), tmp_path=tmp_path)
    assert result.returncode == 0, f"helm lint:\n{result.stdout}\n{result.stderr}"


def essential(obj: Manifest) -> Manifest:
    """What must agree between the chart and Kustomize: not the labels each tool adds to every object,
    the ConfigMap's name (Kustomize hashes it, Helm keeps it and rolls pods by an annotation), or comments."""
    o = copy.deepcopy(obj)
    meta = o["metadata"]
    o["metadata"] = {k: meta[k] for k in ("name", "namespace") if k in meta}
    if o["kind"] == "Namespace":
        o["metadata"]["labels"] = {k: v for k, v in meta["labels"].items() if k.startswith("pod-security")}
    if o["kind"] == "ConfigMap" and meta["name"].startswith("chaos-agent-config"):
        o["metadata"]["name"] = "chaos-agent-config"
        o["data"] = {"config.toml": tomllib.loads(o["data"]["config.toml"])}
    template = _pod_template(o)
    if template is not None:
        template["metadata"].pop("annotations", None)
        for volume in template["spec"].get("volumes", []):
            if "configMap" in volume:
                volume["configMap"]["name"] = "chaos-agent-config"
    return o


def _pod_template(o: Manifest) -> Manifest | None:
    if o["kind"] == "StatefulSet":
        return dict(o["spec"]["template"])
    if o["kind"] == "CronJob":
        return dict(o["spec"]["jobTemplate"]["spec"]["template"])
    return None


def by_identity(objects: list[Manifest]) -> dict[tuple[str, str, str], Manifest]:
    out = {}
    for obj in objects:
        e = essential(obj)
        out[(e["kind"], e["metadata"].get("namespace", ""), e["metadata"]["name"])] = e
    return out


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_chart_renders_what_kustomize_renders(
        charts: dict[str, list[Manifest]], rendered: dict[str, list[Manifest]], name: str) -> None:
    chart, kustomized = by_identity(charts[name]), by_identity(rendered[VARIANTS[name][1]])
    assert sorted(chart) == sorted(kustomized), (
        f"only in the chart: {sorted(set(chart) - set(kustomized))}; "
        f"only in Kustomize: {sorted(set(kustomized) - set(chart))}")
    for key, obj in kustomized.items():
        assert chart[key] == obj, f"{name}: {key} differs:\nchart: {chart[key]}\nkustomize: {obj}"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_chart_passes_the_kubernetes_schemas(charts: dict[str, list[Manifest]], name: str) -> None:
    for obj in charts[name]:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, "1.32.0", strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {obj['kind']} {obj['metadata']['name']}: {e.message} at {list(e.path)}")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_charts_rbac_is_least_privilege(
        charts: dict[str, list[Manifest]], recorded: Callable[[tuple[str, ...]], list[Call]], name: str) -> None:
    objects = charts[name]
    check_least_privilege(f"helm/{name}", objects, recorded(confined_to(objects)))


def test_the_api_server_address_is_required_with_one_clear_line(tmp_path: Path) -> None:
    result = helm("template", "chaos-agent", str(CHART), "--namespace", NAMESPACE, values={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "set networkPolicy.apiServerCIDRs to your API server's addresses" in result.stderr
    off = helm("template", "chaos-agent", str(CHART), "--namespace", NAMESPACE,
               values={"networkPolicy": {"enabled": False}}, tmp_path=tmp_path)
    assert off.returncode == 0 and "kind: NetworkPolicy" not in off.stdout


@pytest.mark.parametrize(("values", "named"), [
    ({"mode": "chaos"}, "mode"),
    ({"image": {"repository": "r", "tag": "latest"}}, "tag"),
    ({"rbac": {"namespaces": ["Not_A_Namespace"]}}, "namespaces"),
])
def test_bad_values_are_refused_by_the_schema(tmp_path: Path, values: dict[str, Any], named: str) -> None:
    result = helm("template", "chaos-agent", str(CHART), "--namespace", NAMESPACE,
                  values=merged(COMMON, values), tmp_path=tmp_path)
    assert result.returncode != 0 and named in result.stderr, result.stderr


def test_the_config_is_the_agents_own_and_confined_where_the_rbac_is(
        charts: dict[str, list[Manifest]], tmp_path: Path) -> None:
    from agent.config import load_config

    for name, objects in charts.items():
        (config_map,) = [o for o in objects if o["kind"] == "ConfigMap"]
        path = tmp_path / f"{name}.toml"
        path.write_text(config_map["data"]["config.toml"])
        config = load_config(path)
        assert config.cluster.kubernetes.namespaces == confined_to(objects)
        assert config.prometheus.enabled and config.agent.namespace == NAMESPACE
        assert config.safety.dry_run == ("plan" if VARIANTS[name][0].get("mode", "dry-run") == "dry-run" else "off")
