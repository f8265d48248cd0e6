"""The ``spec`` of the Chaos Mesh objects the agent creates: which pods, which container, which peers.

Pods are selected by the workload's whole ``spec.selector`` (matchLabels and matchExpressions). A
StressChaos names the workload's main container in ``containerNames`` (Chaos Mesh otherwise stresses
each pod's first container, an injected proxy where a mesh puts one first), chosen as ``kubectl logs``
and ``kubectl exec`` choose it: the ``kubectl.kubernetes.io/default-container`` annotation, else the
first container the workload declares (containers an admission webhook injects into the pods, such as
service-mesh proxies, are not in the workload's template).

A partition cuts the chosen pods off (both directions) from every other pod of their namespace: the
target is the complement of the workload's selector. When that complement is one label requirement
(one ``matchLabels`` pair or one expression) it is written as its negation; otherwise, since a
selector is a conjunction and the complement of several requirements a disjunction, the target names
the namespace's other pods explicitly (Chaos Mesh resolves a selector once, when it injects, so a
list taken at planning time selects the same pods).
"""

from __future__ import annotations

import math
from typing import Any

from agent.backends.kubernetes.api import Obj
from agent.backends.kubernetes.view import ClusterView, labels_of, meta, selector_matches
from envs.faults import Fault, FaultKind

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
_NEGATION = {"In": "NotIn", "NotIn": "In", "Exists": "DoesNotExist", "DoesNotExist": "Exists"}


def workload_selector(workload: Obj) -> dict[str, Any]:
    """The workload's ``spec.selector`` as a Chaos Mesh PodSelectorSpec, every requirement kept."""
    selector = (workload.get("spec") or {}).get("selector") or {}
    out: dict[str, Any] = {"namespaces": [meta(workload).get("namespace", "")]}
    if selector.get("matchLabels"):
        out["labelSelectors"] = dict(selector["matchLabels"])
    if selector.get("matchExpressions"):
        out["expressionSelectors"] = [dict(e) for e in selector["matchExpressions"]]
    return out


def _template(workload: Obj) -> Obj:
    return ((workload.get("spec") or {}).get("template") or {})


def declared_containers(workload: Obj) -> list[str]:
    return [str(c.get("name")) for c in (_template(workload).get("spec") or {}).get("containers") or []]


def main_container(workload: Obj, pods: list[Obj]) -> str | None:
    """The container a user means by "the workload's process" (see the module docstring)."""
    declared = declared_containers(workload)
    for source in (_template(workload), *pods):
        named = ((source.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
        in_pod = [str(c.get("name")) for c in (source.get("spec") or {}).get("containers") or []]
        if named and (named in declared or named in in_pod):
            return str(named)
    return declared[0] if declared else None


def complement_requirement(selector: dict[str, Any]) -> dict[str, Any] | None:
    """One label requirement selecting exactly what ``selector`` does not, or None when there is none."""
    requirements = [{"key": k, "operator": "In", "values": [v]} for k, v in (selector.get("matchLabels") or {}).items()]
    requirements += [dict(e) for e in selector.get("matchExpressions") or []]
    if len(requirements) != 1 or requirements[0].get("operator") not in _NEGATION:
        return None
    only = requirements[0]
    negated: dict[str, Any] = {"key": only["key"], "operator": _NEGATION[only["operator"]]}
    if negated["operator"] in ("In", "NotIn"):
        negated["values"] = list(only.get("values") or [])
    return negated


def other_pods(workload: Obj, view: ClusterView) -> list[str]:
    """Names of the live pods of the workload's namespace that its selector does not select."""
    namespace = meta(workload).get("namespace", "")
    selector = (workload.get("spec") or {}).get("selector")
    return sorted(
        meta(p)["name"] for p in view.pods_in(namespace) if not selector_matches(selector, labels_of(p)))


def partition_target(workload: Obj, peers: list[str]) -> dict[str, Any]:
    """The PodSelectorSpec of a partition's far side: every pod of the namespace outside the workload."""
    namespace = meta(workload).get("namespace", "")
    negated = complement_requirement((workload.get("spec") or {}).get("selector") or {})
    if negated is not None:
        return {"namespaces": [namespace], "expressionSelectors": [negated]}
    return {"pods": {namespace: list(peers)}}


def _cpu_cores(workload: Obj, container: str | None) -> int:
    millis = 0.0
    for c in (_template(workload).get("spec") or {}).get("containers") or []:
        if container is not None and c.get("name") != container:
            continue
        cpu = str(((c.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
        millis += float(cpu[:-1]) if cpu.endswith("m") else float(cpu) * 1000
    return max(1, math.ceil(millis / 1000))


def chaos_spec(fault: Fault, workload: Obj, *, container: str | None = None,
               peers: list[str] | None = None) -> dict[str, Any]:
    """The Chaos Mesh ``spec`` for ``fault`` on ``workload``: ``container`` is the StressChaos's main
    container, ``peers`` the namespace's other pods for a partition (see ``other_pods``)."""
    m = fault.magnitude
    spec: dict[str, Any] = {
        "selector": workload_selector(workload),
        "mode": "all",
        "duration": f"{max(1, math.ceil(fault.duration_s))}s",
    }
    kind = fault.kind
    if kind == FaultKind.CPU_STRESS:
        if container is not None:
            spec["containerNames"] = [container]
        spec["stressors"] = {"cpu": {"workers": _cpu_cores(workload, container), "load": round(m * 100)}}
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
        target = partition_target(workload, peers or [])
        spec.update(action="partition", direction="both", target={"mode": "all", "selector": target})
    else:
        raise ValueError(f"{kind} is not a Chaos Mesh fault")
    return spec
