"""Data faults (drift, corrupted rows, delayed ingestion) through a ConfigMap the pipeline reads.

The agent writes ``chaos-agent-data-fault`` in the pipeline's namespace with the keys ``kind``,
``magnitude``, ``target``, ``injection_id`` and ``expires_at`` (RFC 3339, UTC); the pipeline mounts
it (``optional: true``) and calls ``agent.datahook.apply_data_faults`` on each batch. One data fault
per namespace at a time; revert deletes the ConfigMap, and the hook ignores it once expired.
"""

from __future__ import annotations

import datetime as dt

from agent.backends.kubernetes.api import Obj
from agent.backends.kubernetes.errors import NotFound
from agent.backends.kubernetes.faults.base import ActionContext, FaultPlan, create_once, missing_target, refuse
from agent.backends.kubernetes.marks import (
    INJECTION_LABEL,
    injection_annotations,
    injection_labels,
    managed_selector,
)
from agent.backends.kubernetes.resources import CONFIGMAPS
from agent.backends.kubernetes.view import ClusterView, meta
from envs.cluster import Injection
from envs.faults import Fault

CONFIGMAP_NAME = "chaos-agent-data-fault"


def fault_data(fault: Fault, injection_id: str, now_s: float) -> dict[str, str]:
    expires = dt.datetime.fromtimestamp(now_s + fault.duration_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "kind": fault.kind.value,
        "magnitude": f"{fault.magnitude:g}",
        "target": fault.target,
        "injection_id": injection_id,
        "expires_at": expires,
    }


class DataFault:
    def plan(self, fault: Fault, *, injection_id: str, view: ClusterView, ctx: ActionContext) -> FaultPlan:
        if view.workload(fault.target) is None:
            return missing_target(fault, injection_id)
        namespace = fault.target.split("/", 1)[0]
        try:
            current = ctx.api.get(CONFIGMAPS, CONFIGMAP_NAME, namespace=namespace)
        except NotFound:
            return FaultPlan(injection_id, fault, targets=(namespace,))
        holder = (current.get("data") or {}).get("injection_id", "?")
        return refuse(
            fault,
            injection_id,
            f"a data fault ({holder}) is already active in namespace {namespace}; one at a time per namespace",
        )

    def apply(self, plan: FaultPlan, *, ctx: ActionContext) -> Injection:
        namespace = plan.targets[0]
        data = fault_data(plan.fault, plan.injection_id, ctx.clock())
        body: Obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": CONFIGMAP_NAME,
                "namespace": namespace,
                "labels": injection_labels(plan.injection_id),
                "annotations": injection_annotations(plan.injection_id),
            },
            "data": data,
        }
        if create_once(ctx, CONFIGMAPS, body, namespace=namespace, mark=plan.mark) is None:
            return plan.outcome("refused", f"another data fault was written to namespace {namespace} meanwhile")
        return plan.outcome(
            "applied",
            f"wrote ConfigMap {namespace}/{CONFIGMAP_NAME} "
            f"({plan.fault.kind.value}={plan.fault.magnitude:g} until {data['expires_at']})",
        )

    def revert(self, injection_id: str, *, ctx: ActionContext) -> None:
        for cm in ctx.list_everywhere(CONFIGMAPS, label_selector=managed_selector(injection_id)):
            try:
                ctx.api.delete(CONFIGMAPS, meta(cm)["name"], namespace=meta(cm).get("namespace"))
            except NotFound:
                continue

    def marked(self, *, ctx: ActionContext) -> set[str]:
        items = ctx.list_everywhere(CONFIGMAPS, label_selector=managed_selector())
        return {(meta(cm).get("labels") or {}).get(INJECTION_LABEL, "") for cm in items} - {""}
