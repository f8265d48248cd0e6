"""A pod template (``spec.template`` or a Pod's own spec) as the twin's ``PodTemplate``, plus what the
call graph and the role inference need from it: env vars, images and volumes.

Requests follow Kubernetes: a container's request falls back to its limit; the pod's request is the
larger of the app containers' sum (with restartable init "sidecars") and the largest init container.
A container that states neither gets the scheduler's non-zero defaults (100m CPU, 200Mi), as the real
scheduler uses them to spread such pods (docs/twin.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from envs.spec import (
    GPU_RESOURCE,
    HOSTNAME_LABEL,
    LabelRequirement,
    PodTemplate,
    Probe,
    TaintEffect,
    Toleration,
)
from envs.twin import scheduling
from envs.twin.fields import Fields, Malformed
from envs.twin.quantities import cpu_millis, memory_mib, whole_count
from envs.twin.scheduling import NamespaceIndex

VolumeStorage = Literal["persistent", "node", "memory", "config"]
"""What backs a mount: a volume outliving the pod, a disk or memory emptyDir, or configuration files."""
CONFIG_VOLUMES = ("configMap", "secret", "downwardAPI", "projected")
DEFAULT_CPU_MILLIS = 100  # kube-scheduler's DefaultMilliCPURequest
DEFAULT_MEMORY_MIB = 200  # kube-scheduler's DefaultMemoryRequest (200 MB, taken as MiB)
TAINT_EFFECTS: tuple[TaintEffect, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SELECTOR_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class EnvVar:
    container: str
    name: str
    value: str


@dataclass(frozen=True)
class ContainerView:
    """What the datastore and cold-start inference read from one container."""

    name: str
    image: str
    args: tuple[str, ...]
    """``command`` then ``args``."""
    env: tuple[tuple[str, str], ...]
    """Literal env values by name."""
    mounts: tuple[tuple[str, VolumeStorage, str], ...]
    """(mountPath, what kind of storage backs it, volume name)."""


@dataclass(frozen=True)
class PodShape:
    template: PodTemplate
    env: tuple[EnvVar, ...]
    config_map_refs: tuple[tuple[str, str | None, str], ...]
    """(configMap name, key or None for envFrom, env var name or prefix) read by the containers."""
    images: tuple[str, ...]
    pvc_mount_paths: tuple[str, ...]
    """Mount paths of volumes backed by a PersistentVolumeClaim (or an ephemeral claim)."""
    has_pvc_volume: bool
    defaulted_requests: bool
    containers: tuple[ContainerView, ...]
    """The app containers (not init containers or sidecars), in order."""
    unmodelled: tuple[str, ...]
    """Features present but not modelled (a node affinity operator the twin cannot read ...)."""


def _resources(container: Fields) -> tuple[int, int, int, bool]:
    resources = container.sub("resources")
    requests, limits = resources.sub("requests"), resources.sub("limits")
    defaulted = False

    def pick(name: str) -> object:
        return requests.raw(name) if requests.has(name) else limits.raw(name)

    def read(name: str, parse: Callable[[object], int], default: int) -> int:
        nonlocal defaulted
        value = pick(name)
        if value is None:
            defaulted = True
            return default
        try:
            return parse(value)
        except ValueError as e:
            raise Malformed(f"{resources.path}.requests.{name}", value, f"a quantity ({e})") from e

    cpu = read("cpu", cpu_millis, DEFAULT_CPU_MILLIS)
    memory = read("memory", memory_mib, DEFAULT_MEMORY_MIB)
    gpu_value = limits.raw(GPU_RESOURCE) if limits.has(GPU_RESOURCE) else requests.raw(GPU_RESOURCE)
    try:
        gpus = 0 if gpu_value is None else whole_count(gpu_value)
    except ValueError as e:
        raise Malformed(f"{resources.path}.limits.{GPU_RESOURCE}", gpu_value, "a whole number") from e
    return cpu, memory, gpus, defaulted


def _node_affinity(affinity: Fields, unmodelled: list[str]) -> tuple[tuple[LabelRequirement, ...], ...]:
    required = affinity.sub("nodeAffinity").sub("requiredDuringSchedulingIgnoredDuringExecution")
    terms: list[tuple[LabelRequirement, ...]] = []
    for term in required.subs("nodeSelectorTerms"):
        reqs: list[LabelRequirement] = []
        for expr in term.subs("matchExpressions"):
            op = expr.text("operator")
            if op in _SELECTOR_OPS:
                reqs.append(LabelRequirement(expr.text("key"), op, tuple(expr.strings("values"))))  # type: ignore[arg-type]
            else:
                unmodelled.append(f"node affinity operator {op} on {expr.text('key')} (ignored)")
        for expr in term.subs("matchFields"):
            # matchFields only supports metadata.name, which the hostname label carries.
            op = expr.text("operator")
            if expr.text("key") == "metadata.name" and op in ("In", "NotIn"):
                reqs.append(LabelRequirement(HOSTNAME_LABEL, op, tuple(expr.strings("values"))))  # type: ignore[arg-type]
            else:
                unmodelled.append(f"node affinity matchFields {expr.text('key')} {op} (ignored)")
        terms.append(tuple(reqs))
    return tuple(terms)


def _tolerations(spec: Fields) -> tuple[Toleration, ...]:
    out = []
    for t in spec.subs("tolerations"):
        operator = t.text("operator", "Equal")
        if operator not in ("Equal", "Exists"):
            raise Malformed(f"{t.path}.operator", operator, "Equal or Exists")
        effect = t.optional_text("effect") or None
        if effect is not None and effect not in TAINT_EFFECTS:
            raise Malformed(f"{t.path}.effect", effect, "one of " + ", ".join(TAINT_EFFECTS))
        seconds = t.optional_integer("tolerationSeconds")
        out.append(
            Toleration(
                key=t.optional_text("key") or None,
                operator="Exists" if operator == "Exists" else "Equal",
                value=t.text("value"),
                effect=effect,
                toleration_seconds=None if seconds is None else float(seconds),
            )
        )
    return tuple(out)


def _probe(containers: list[Fields], which: str) -> Probe | None:
    for c in containers:
        if c.has(which):
            p = c.sub(which)
            return Probe(
                initial_delay_s=float(p.count("initialDelaySeconds", 0)),
                period_s=float(p.integer("periodSeconds", 10)),
                failure_threshold=p.integer("failureThreshold", 3),
                success_threshold=p.integer("successThreshold", 1),
            )
    return None


def _env(containers: list[Fields]) -> tuple[list[EnvVar], list[tuple[str, str | None, str]]]:
    env: list[EnvVar] = []
    refs: list[tuple[str, str | None, str]] = []
    for c in containers:
        cname = c.text("name")
        for source in c.subs("envFrom"):
            if source.has("configMapRef"):
                refs.append((source.sub("configMapRef").text("name"), None, source.text("prefix")))
        for var in c.subs("env"):
            name = var.text("name")
            if var.has("value"):
                value = var.raw("value")
                env.append(EnvVar(cname, name, value if isinstance(value, str) else str(value)))
            elif var.sub("valueFrom").has("configMapKeyRef"):
                ref = var.sub("valueFrom").sub("configMapKeyRef")
                refs.append((ref.text("name"), ref.text("key"), name))
    return env, refs


def _volume_storage(volumes: list[Fields], claims: Collection[str] = ()) -> dict[str, VolumeStorage]:
    """Storage kind per volume name; a mount of a name not listed is a StatefulSet's volumeClaimTemplate, and a
    claim template replaces a template volume of its name (the StatefulSet controller's ``updateStorage``)."""
    out: dict[str, VolumeStorage] = {}
    for v in volumes:
        if v.text("name") in claims:
            continue
        if v.has("emptyDir"):
            out[v.text("name")] = "memory" if v.sub("emptyDir").text("medium") == "Memory" else "node"
        elif any(v.has(k) for k in CONFIG_VOLUMES):
            out[v.text("name")] = "config"
        else:
            out[v.text("name")] = "persistent"  # a claim, an ephemeral claim, hostPath, nfs, csi, ...
    return out


def _container_views(containers: list[Fields], storage: dict[str, VolumeStorage]) -> tuple[ContainerView, ...]:
    views = []
    for c in containers:
        env = tuple((var.text("name"), str(var.raw("value"))) for var in c.subs("env") if var.has("value"))
        mounts = tuple((m.text("mountPath"), storage.get(m.text("name"), "persistent"), m.text("name"))
                       for m in c.subs("volumeMounts"))
        views.append(ContainerView(c.text("name"), c.text("image"), tuple(c.strings("command") + c.strings("args")),
                                   env, mounts))
    return tuple(views)


def pod_shape(spec: Fields, labels: dict[str, str], *, namespaces: NamespaceIndex | None = None,
              claims: Collection[str] = ()) -> PodShape:
    """Read a PodSpec (``spec.template.spec`` or ``Pod.spec``); ``namespaces`` resolves the
    ``namespaceSelector`` of pod affinity terms; ``claims`` are a StatefulSet's volumeClaimTemplates."""
    containers = spec.subs("containers")
    if not containers:
        raise Malformed(f"{spec.path}.containers", spec.raw("containers"), "a non-empty list")
    inits = spec.subs("initContainers")
    sidecars = [c for c in inits if c.text("restartPolicy") == "Always"]
    plain_inits = [c for c in inits if c.text("restartPolicy") != "Always"]
    app = [_resources(c) for c in containers + sidecars]
    init = [_resources(c) for c in plain_inits]
    sidecar_sum = [sum(r[i] for r in app[len(containers) :]) for i in range(3)]
    totals = [max([sum(r[i] for r in app)] + [r[i] + sidecar_sum[i] for r in init]) for i in range(3)]
    overhead = spec.sub("overhead")
    try:
        if overhead.has("cpu"):
            totals[0] += cpu_millis(overhead.raw("cpu"))
        if overhead.has("memory"):
            totals[1] += memory_mib(overhead.raw("memory"))
    except ValueError as e:
        raise Malformed(overhead.path, overhead.data, "cpu and memory quantities") from e

    unmodelled: list[str] = []
    affinity = spec.sub("affinity")
    together, apart = scheduling.pod_affinity(affinity, labels, namespaces or NamespaceIndex())
    env, refs = _env(containers + sidecars)
    volumes = spec.subs("volumes")
    pvc_volumes = {v.text("name") for v in volumes if v.has("persistentVolumeClaim") or v.has("ephemeral")}
    mounts = [m for c in containers + sidecars for m in c.subs("volumeMounts")]
    template = PodTemplate(
        labels=tuple(sorted(labels.items())),
        cpu_millis=totals[0],
        memory_mib=totals[1],
        gpus=totals[2],
        node_selector=tuple(sorted(spec.string_map("nodeSelector").items())),
        node_affinity=_node_affinity(affinity, unmodelled),
        anti_affinity=apart,
        tolerations=_tolerations(spec),
        readiness_probe=_probe(containers, "readinessProbe"),
        liveness_probe=_probe(containers, "livenessProbe"),
        termination_grace_s=float(spec.count("terminationGracePeriodSeconds", 30)),
        pod_affinity=together,
        spread=scheduling.topology_spread(spec, labels),
        preferred_nodes=scheduling.preferred_node_terms(affinity, unmodelled),
        startup_probe=_probe(containers, "startupProbe"),
    )
    return PodShape(
        template=template,
        env=tuple(env),
        config_map_refs=tuple(refs),
        images=tuple(c.text("image") for c in containers),
        pvc_mount_paths=tuple(m.text("mountPath") for m in mounts if m.text("name") in pvc_volumes),
        has_pvc_volume=bool(pvc_volumes),
        defaulted_requests=any(r[3] for r in app + init),
        containers=_container_views(containers, _volume_storage(volumes, claims)),
        unmodelled=tuple(unmodelled),
    )
