"""Network faults (latency, jitter, loss, partition) and CPU stress as Chaos Mesh custom objects.

Each injection creates one ``NetworkChaos`` or ``StressChaos`` (chaos-mesh.org/v1alpha1) in the
target's namespace, selecting the workload's pods by its selector, with ``spec.duration`` set to the
fault's duration: Chaos Mesh ends the fault on its own even if the agent dies. Revert deletes the
object, which makes Chaos Mesh remove the tc/stress rules at once. Chaos Mesh is found through API
discovery; without it the injection fails with a clear detail.

Jitter is netem's delay with a 1 ms base and the magnitude as jitter (so the mean barely moves).
A partition cuts the chosen pods off (both directions) from every other pod of their namespace.
CPU stress runs one stress worker per requested CPU core of a pod at the magnitude's load.
"""

from __future__ import annotations

import math
from typing import Any

from agent.backends.kubernetes.api import Obj
from agent.backends.kubernetes.errors import NotFound
from agent.backends.kubernetes.faults.base import ActionContext, FaultPlan, create_once, missing_target, refuse
from agent.backends.kubernetes.marks import (
    INJECTION_LABEL,
    injection_annotations,
    injection_labels,
    managed_selector,
    object_name,
)
from agent.backends.kubernetes.resources import (
    CHAOS_MESH_GROUP_VERSION,
    NETWORK_CHAOS,
    STRESS_CHAOS,
    WORKLOAD_RESOURCES,
    Resource,
)
from agent.backends.kubernetes.view import ClusterView, meta
from envs.cluster import Injection
from envs.faults import Fault, FaultKind

NOT_INSTALLED = (
    f"Chaos Mesh is not installed (no {CHAOS_MESH_GROUP_VERSION} in API discovery); install it or "
    "exclude the network family"
)
CHAOS_RESOURCES = (NETWORK_CHAOS, STRESS_CHAOS)


def _resource(kind: FaultKind) -> Resource:
    return STRESS_CHAOS if kind == FaultKind.CPU_STRESS else NETWORK_CHAOS


def _selector(workload: Obj) -> dict[str, Any]:
    selector = (workload.get("spec") or {}).get("selector") or {}
    out: dict[str, Any] = {"namespaces": [meta(workload).get("namespace", "")]}
    if selector.get("matchLabels"):
        out["labelSelectors"] = dict(selector["matchLabels"])
    if selector.get("matchExpressions"):
        out["expressionSelectors"] = list(selector["matchExpressions"])
    return out


def _cpu_cores(workload: Obj) -> int:
    millis = 0.0
    for container in ((workload.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
        cpu = str(((container.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
        millis += float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000
    return max(1, math.ceil(millis / 1000))


def chaos_spec(fault: Fault, workload: Obj) -> dict[str, Any]:
    """The Chaos Mesh ``spec`` for ``fault`` on ``workload``."""
    m = fault.magnitude
    spec: dict[str, Any] = {
        "selector": _selector(workload),
        "mode": "all",
        "duration": f"{max(1, math.ceil(fault.duration_s))}s",
    }
    kind = fault.kind
    if kind == FaultKind.CPU_STRESS:
        spec["stressors"] = {"cpu": {"workers": _cpu_cores(workload), "load": round(m * 100)}}
        return spec
    spec["direction"] = "to"
    if kind == FaultKind.NETWORK_LATENCY:
        spec.update(action="delay", delay={"latency": f"{m:g}ms", "jitter": "0ms", "correlation": "0"})
    elif kind == FaultKind.NETWORK_JITTER:
        spec.update(action="delay", delay={"latency": "1ms", "jitter": f"{m:g}ms", "correlation": "0"})
    elif kind == FaultKind.NETWORK_LOSS:
        spec.update(action="loss", loss={"loss": f"{m * 100:g}", "correlation": "0"})
    elif kind == FaultKind.NETWORK_PARTITION:
        if fault.intensity == 0:
            spec["mode"] = "one"
        else:
            spec.update(mode="fixed-percent", value=str(round(m * 100)))
        selector = (workload.get("spec") or {}).get("selector") or {}
        others = [
            {"key": k, "operator": "NotIn", "values": [v]} for k, v in (selector.get("matchLabels") or {}).items()
        ]
        target: dict[str, Any] = {"namespaces": [meta(workload).get("namespace", "")]}
        if others:
            target["expressionSelectors"] = others[:1]
        spec.update(action="partition", direction="both", target={"mode": "all", "selector": target})
    else:
        raise ValueError(f"{kind} is not a Chaos Mesh fault")
    return spec


class ChaosMeshFault:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        if view.workload(fault.target) is None:
            return missing_target(fault, injection_id)
        res = _resource(fault.kind)
        served = ctx.api.served_kinds(CHAOS_MESH_GROUP_VERSION)
        if served is None:
            return refuse(fault, injection_id, NOT_INSTALLED, "failed")
        if res.kind not in served:
            return refuse(
                fault,
                injection_id,
                f"this Chaos Mesh serves no {res.kind} ({CHAOS_MESH_GROUP_VERSION}); upgrade it or exclude the fault",
                "failed",
            )
        return FaultPlan(injection_id, fault, targets=(fault.target,))

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        namespace = plan.fault.target.split("/", 1)[0]
        res = _resource(plan.fault.kind)
        _ns, kind, name = plan.fault.target.split("/", 2)
        workload = ctx.api.get(WORKLOAD_RESOURCES[kind], name, namespace=namespace)
        spec = chaos_spec(plan.fault, workload)
        body: Obj = {
            "apiVersion": res.api_version,
            "kind": res.kind,
            "metadata": {
                "name": object_name("chaos-agent", plan.injection_id),
                "namespace": namespace,
                "labels": injection_labels(plan.injection_id),
                "annotations": injection_annotations(plan.injection_id),
            },
            "spec": spec,
        }
        created = create_once(ctx, res, body, namespace=namespace, mark=plan.mark)
        if created is None:
            return plan.outcome("failed", f"{res.kind} {namespace}/{body['metadata']['name']} exists and is not ours")
        return plan.outcome(
            "applied",
            f"created {res.kind} {namespace}/{meta(created)['name']} for {spec['duration']}",
        )

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        for res in CHAOS_RESOURCES:
            try:
                items = ctx.api.list(res, label_selector=managed_selector(injection_id)).items
            except NotFound:
                continue  # Chaos Mesh is not (or no longer) installed: nothing of ours can exist
            for obj in items:
                try:
                    ctx.api.delete(res, meta(obj)["name"], namespace=meta(obj).get("namespace"))
                except NotFound:
                    continue

    def marked(self, *, ctx: ActionContext) -> set[str]:
        marks: set[str] = set()
        for res in CHAOS_RESOURCES:
            try:
                items = ctx.api.list(res, label_selector=managed_selector()).items
            except NotFound:
                continue
            marks.update((meta(o).get("labels") or {}).get(INJECTION_LABEL, "") for o in items)
        return marks - {""}
