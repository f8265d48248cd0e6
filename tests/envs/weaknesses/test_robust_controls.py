"""Robust control clusters (examples/manifests/robust): no weakness under any design-basis fault, and each
protection they carry matters (taking it away makes the weakness it prevents appear)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from envs.twin import load_manifests, spec_from_objects
from envs.twin.loader import manifest_files
from envs.weaknesses import RootCause
from envs.weaknesses.patching import ManifestPatch, apply_patches
from envs.weaknesses.sweep import design_basis_sweep

ROBUST = Path(__file__).resolve().parents[3] / "examples" / "manifests" / "robust"
SHAPES = sorted(p.name for p in ROBUST.iterdir() if p.is_dir())


def test_there_are_several_shapes() -> None:
    assert set(SHAPES) >= {"shop", "ml", "zones"}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_robust_cluster_has_no_weakness_under_any_design_basis_fault(shape: str) -> None:
    spec = load_manifests(ROBUST / shape)
    sweep = design_basis_sweep(spec, seeds=(1, 2))
    assert sweep.experiments > 100
    assert sweep.assessment.weaknesses == (), [w.title for w in sweep.assessment.weaknesses]


def _objects(shape: str) -> list[dict[str, Any]]:
    return [d for f in manifest_files(ROBUST / shape) for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]


def _annotated(key: str, kind: str, api: str, annotations: dict[str, str], *, template: bool = True) -> ManifestPatch:
    ns, _, name = key.split("/")
    body: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}}
    if template:
        body["spec"] = {"template": {"metadata": {"annotations": annotations}}}
    else:
        body["metadata"]["annotations"] = annotations
    return ManifestPatch(key, body)


WEAKENED = [
    ("shop", _annotated("shop/Service/frontend", "Service", "v1", {"chaos-agent.io/edge-retries": "0"},
                        template=False), {RootCause.NO_FALLBACK}),
    # retried, but each lost try waits out the default 5 s connect timeout: latency, the edge's own weakness
    ("zones", _annotated("bank/Service/gateway", "Service", "v1", {
        "chaos-agent.io/entry-client": '{"name": "envoy (the load balancer)", "tries": 5}'}, template=False),
     {RootCause.NO_FALLBACK}),
    ("ml", _annotated("ml/Job/ranker-train", "Job", "batch/v1", {"chaos-agent.io/checkpoint-interval": "0"}),
     {RootCause.NO_USABLE_CHECKPOINT}),
    # the model server still watches for drift: one monitor on the path is enough
    ("ml", _annotated("ml/StatefulSet/features", "StatefulSet", "apps/v1", {"chaos-agent.io/drift-monitor": "false"}),
     set()),
    # without the calls' settings both dependencies are critical: a tight timeout on one, the default 1 s on the other
    ("zones", _annotated("bank/Deployment/gateway", "Deployment", "apps/v1", {
        "chaos-agent.io/calls": '{"accounts": {"timeout_ms": 300, "retries": 0, "fallback": false}}'}),
     {RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL, RootCause.NO_FALLBACK}),
]


@pytest.mark.parametrize(("shape", "patch", "causes"), WEAKENED, ids=lambda x: getattr(x, "key", ""))
def test_each_protection_matters(shape: str, patch: ManifestPatch, causes: set[RootCause]) -> None:
    spec = spec_from_objects(apply_patches(_objects(shape), [patch]), name=shape)
    assert {w.cause for w in design_basis_sweep(spec, seeds=(1,)).assessment.weaknesses} == causes


def test_a_slow_failing_edge_is_the_edge_s_weakness_with_a_connect_timeout_that_fits() -> None:
    """The zones gateway's load balancer with the default 5 s connect timeout: lost tries reach users as
    latency; the fix keeps the retries and shortens the connect timeout until the waits fit the objective."""
    from envs.weaknesses.remedy import remediation_for

    patch = WEAKENED[1][1]
    spec = spec_from_objects(apply_patches(_objects("zones"), [patch]), name="zones")
    [weakness] = design_basis_sweep(spec, seeds=(1,)).assessment.weaknesses
    assert (weakness.variant, weakness.locus) == ("edge-slow", "bank/Service/gateway")
    assert "connect timeout" in weakness.title
    fix = remediation_for(spec, weakness)
    assert fix is not None
    fixed = spec_from_objects(apply_patches(_objects("zones"), [patch, *fix.patches]), name="zones")
    assert fixed.service("bank/Service/gateway").client.connect_timeout_ms < 5000.0
    assert design_basis_sweep(fixed, seeds=(1,)).assessment.weaknesses == ()
