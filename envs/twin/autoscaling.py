"""PodDisruptionBudgets and HorizontalPodAutoscalers.

PDBs keep ``minAvailable`` / ``maxUnavailable`` as written (counts or "NN%"); a v1beta1 PDB with
neither gets the old API default ``minAvailable: 1``. HPAs read the CPU utilisation target from
autoscaling/v2 (and v2beta2, v2beta1) metrics or v1's ``targetCPUUtilizationPercentage``; with no
metrics Kubernetes targets 80% CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from envs.spec import PdbSpec
from envs.twin.fields import Fields, Malformed
from envs.twin.objects import ObjectId
from envs.twin.scheduling import label_selector

DEFAULT_CPU_TARGET = 0.8


def read_pdb(oid: ObjectId, obj: Mapping[str, object], api_version: str) -> PdbSpec | str:
    """The PDB, or why it protects nothing the twin can model."""
    spec = Fields.of(obj, "").sub("spec")
    min_available = spec.int_or_percent("minAvailable")
    max_unavailable = spec.int_or_percent("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        return "sets both minAvailable and maxUnavailable, which the API rejects"
    if min_available is None and max_unavailable is None:
        if api_version.endswith("v1beta1"):
            min_available = 1
        else:
            return "sets neither minAvailable nor maxUnavailable, so it never blocks an eviction"
    if not spec.has("selector"):
        return "has no selector, so it selects no pods"
    selector = label_selector(spec.sub("selector"))
    if not selector.match_labels and not selector.match_expressions:
        return "has an empty selector (every pod of the namespace in policy/v1), which is not modelled"
    return PdbSpec(oid.namespace, oid.name, selector, min_available, max_unavailable)


@dataclass(frozen=True)
class HpaDraft:
    namespace: str
    name: str
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: float
    ignored_metrics: tuple[str, ...]


def _cpu_target(metric: Fields) -> float | None:
    if metric.text("type") not in ("Resource", "ContainerResource"):
        return None
    resource = metric.sub("resource") if metric.has("resource") else metric.sub("containerResource")
    if resource.text("name") != "cpu":
        return None
    target = resource.sub("target")
    if target.has("averageUtilization"):
        return target.integer("averageUtilization", 80) / 100
    if resource.has("targetAverageUtilization"):  # v2beta1
        return resource.integer("targetAverageUtilization", 80) / 100
    return None


def read_hpa(oid: ObjectId, obj: Mapping[str, object]) -> HpaDraft | str:
    spec = Fields.of(obj, "").sub("spec")
    ref = spec.sub("scaleTargetRef")
    min_replicas = spec.integer("minReplicas", 1)
    max_replicas = spec.integer("maxReplicas", 0)
    if min_replicas < 1 or max_replicas < min_replicas:
        raise Malformed("spec.maxReplicas", max_replicas, f"at least minReplicas ({min_replicas}) and >= 1")
    target: float | None = None
    ignored: list[str] = []
    if spec.has("targetCPUUtilizationPercentage"):  # autoscaling/v1
        target = spec.integer("targetCPUUtilizationPercentage", 80) / 100
    metrics = spec.subs("metrics")
    for metric in metrics:
        cpu = _cpu_target(metric)
        if cpu is None:
            resource = metric.sub("resource").text("name")
            ignored.append(f"{metric.text('type')} {resource}".strip())
        elif target is None:
            target = cpu
    if target is None:
        if metrics:
            return "scales only on " + ", ".join(ignored) + "; the twin models CPU utilisation only"
        target = DEFAULT_CPU_TARGET
    if target <= 0:
        raise Malformed("spec.metrics", target, "a CPU utilisation target above 0")
    return HpaDraft(
        oid.namespace,
        oid.name,
        ref.text("kind"),
        ref.text("name"),
        min_replicas,
        max_replicas,
        target,
        tuple(ignored),
    )
