"""Deployments, StatefulSets, Jobs and CronJobs as workload drafts, before calls and roles are known.

Replica counts, rollout parameters and storage follow the controllers: Deployment maxUnavailable and
maxSurge default to 25%, rounded down and up; StatefulSets roll one pod (or maxUnavailable, rounded
down, at least 1) at a time without surge; a Job runs ``min(parallelism, completions)`` pods; a CronJob
is modelled as one run of its ``jobTemplate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from envs.spec import WorkloadKind
from envs.twin.fields import Fields, Malformed
from envs.twin.objects import ObjectId
from envs.twin.pods import PodShape, pod_shape
from envs.twin.quantities import scale_int_or_percent
from envs.twin.scheduling import NamespaceIndex

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class WorkloadDraft:
    namespace: str
    name: str
    kind: WorkloadKind
    replicas: int
    shape: PodShape
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    """Workload metadata annotations, overridden by the pod template's (they are closer to the pod)."""
    persistent_storage: bool
    max_unavailable: int
    max_surge: int
    origin: str
    """What the user wrote: "Deployment ns/name", or "CronJob ns/name" for a CronJob's Job."""
    unquoted: tuple[str, ...] = ()
    """Annotation keys whose YAML value was not a string (read as the string meant)."""

    @property
    def annotation_map(self) -> dict[str, str]:
        return dict(self.annotations)

    @property
    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _deployment_rollout(spec: Fields, replicas: int) -> tuple[int, int]:
    strategy = spec.sub("strategy")
    kind = strategy.text("type", "RollingUpdate")
    if kind == "Recreate":
        return replicas, 0
    if kind != "RollingUpdate":
        raise Malformed(f"{strategy.path}.type", kind, "RollingUpdate or Recreate")
    rolling = strategy.sub("rollingUpdate")
    unavailable = rolling.int_or_percent("maxUnavailable")
    surge = rolling.int_or_percent("maxSurge")
    max_unavailable = scale_int_or_percent(
        "25%" if unavailable is None else unavailable, replicas, round_up=False
    )
    max_surge = scale_int_or_percent("25%" if surge is None else surge, replicas, round_up=True)
    if max_unavailable == 0 and max_surge == 0:  # deployment util ResolveFenceposts
        max_unavailable = 1
    return max_unavailable, max_surge


def _statefulset_rollout(spec: Fields, replicas: int) -> int:
    strategy = spec.sub("updateStrategy")
    value = strategy.sub("rollingUpdate").int_or_percent("maxUnavailable")
    return max(1, scale_int_or_percent(1 if value is None else value, replicas, round_up=False))


def _job_pods(spec: Fields) -> int:
    if spec.flag("suspend"):
        return 0
    parallelism = spec.count("parallelism", 1)
    completions = spec.optional_integer("completions")
    return parallelism if completions is None else min(parallelism, max(completions, 0))


def draft_workload(oid: ObjectId, obj: Mapping[str, object], namespaces: NamespaceIndex | None = None) -> WorkloadDraft:
    """Read one Deployment, StatefulSet, Job or CronJob; raises ``Malformed`` naming the bad field."""
    root = Fields.of(obj, "")
    meta = root.sub("metadata")
    spec = root.sub("spec")
    origin = oid.describe()
    kind: WorkloadKind
    if oid.kind == "CronJob":
        spec = spec.sub("jobTemplate").sub("spec")
        kind = "Job"
    else:
        kind = oid.kind  # type: ignore[assignment]
    template = spec.sub("template")
    if not template.data:
        raise Malformed(f"{template.path}", None, "a pod template")
    tmeta = template.sub("metadata")
    meta_annotations, unquoted = meta.annotations()
    template_annotations, unquoted_in_template = tmeta.annotations()
    annotations = {**meta_annotations, **template_annotations}
    annotations.pop(LAST_APPLIED, None)
    pod_spec = template.sub("spec")
    claims = [c.sub("metadata").text("name") for c in spec.subs("volumeClaimTemplates")]
    shape = pod_shape(pod_spec, tmeta.string_map("labels"), namespaces=namespaces, claims=claims)

    persistent = shape.has_pvc_volume or bool(claims)
    if kind == "Job":
        replicas = _job_pods(spec)
        max_unavailable, max_surge = 1, 0
    else:
        replicas = spec.count("replicas", 1)
        if kind == "Deployment":
            max_unavailable, max_surge = _deployment_rollout(spec, replicas)
        else:
            max_unavailable, max_surge = _statefulset_rollout(spec, replicas), 0
    return WorkloadDraft(
        namespace=oid.namespace,
        name=oid.name,
        kind=kind,
        replicas=replicas,
        shape=shape,
        labels=tuple(sorted(meta.string_map("labels").items())),
        annotations=tuple(sorted(annotations.items())),
        persistent_storage=persistent,
        max_unavailable=max_unavailable,
        max_surge=max_surge,
        origin=origin,
        unquoted=tuple(sorted(set(unquoted + unquoted_in_template))),
    )
