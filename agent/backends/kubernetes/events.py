"""Kubernetes Events the agent posts: a trace of what it faults, and the audit journal's head.

One core/v1 Event per applied injection (reason ``ChaosInjected``, type Warning: something is being
broken on purpose) and one per revert (``ChaosReverted``, Normal), regarding the target: a workload in
its own namespace, a node in ``default`` (where the API server keeps events on cluster-scoped objects).
They are a trace for the people on call, not the record: the journal is. Writing one is best effort:
a failure is logged and never fails or delays the fault beyond one request.

The journal's head is published as an ``AuditHead`` Event on the agent's Pod (or its Lease). The agent's
ServiceAccount may create Events but not update or delete them, so a head published this way outlives a
rewrite of the journal on the pod's volume (for the API server's event TTL, an hour by default; the log
stream keeps it longer). ``kubectl get events -n NS --field-selector reason=AuditHead`` lists them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
from collections.abc import Callable
from typing import Any

import structlog

from agent.audit.anchor import HeadMark, Sink
from agent.backends.kubernetes.api import KubeApi, Obj
from agent.backends.kubernetes.errors import KubernetesApiError, cut
from agent.backends.kubernetes.marks import INJECTION_ANNOTATION
from agent.backends.kubernetes.resources import EVENTS, LEASES
from agent.backends.kubernetes.view import ClusterView, meta
from envs.cluster import Injection

REPORTING_COMPONENT = "chaos-agent.io/agent"
INJECTED, REVERTED = "ChaosInjected", "ChaosReverted"
REASON = "AuditHead"
NODE_EVENTS_NAMESPACE = "default"
log = structlog.get_logger(__name__)


def _time(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def regarding(view: ClusterView, target: str) -> Obj | None:
    """The object reference of a target key (``ns/Kind/name`` or ``Node/name``), if it is in the cache."""
    obj = view.node(target) if target.startswith("Node/") else view.workload(target)
    if obj is None:
        return None
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""), "name": meta(obj)["name"],
           "uid": meta(obj).get("uid", "")}
    if meta(obj).get("namespace"):
        ref["namespace"] = meta(obj)["namespace"]
    return ref


class EventRecorder:
    def __init__(self, api: KubeApi, *, clock: Callable[[], float], instance: str | None = None) -> None:
        self.api = api
        self.clock = clock
        self.instance = instance or socket.gethostname()

    def event(self, ref: Obj, *, reason: str, action: str, message: str, kind: str, injection_id: str) -> Obj:
        namespace = ref.get("namespace") or NODE_EVENTS_NAMESPACE
        now = _time(self.clock())
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {  # not the managed-by label of the agent's marks: an Event is no fault to revert
                "name": f"{ref['name']}.{secrets.token_hex(8)}",
                "namespace": namespace,
                "annotations": {INJECTION_ANNOTATION: injection_id},
            },
            "involvedObject": ref,
            "reason": reason,
            "action": action,
            "message": cut(message, 1000),
            "type": kind,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": "chaos-agent", "host": self.instance},
            "reportingComponent": REPORTING_COMPONENT,
            "reportingInstance": self.instance[:128],
        }

    def injected(self, view: ClusterView, injection: Injection) -> None:
        message = f"chaos-agent injected {injection.fault.describe()} ({injection.id}): {injection.detail}"
        self._emit(view, injection, reason=INJECTED, action="Inject", message=message, kind="Warning")

    def reverted(self, view: ClusterView, injection: Injection) -> None:
        message = f"chaos-agent reverted {injection.fault.describe()} ({injection.id})"
        self._emit(view, injection, reason=REVERTED, action="Revert", message=message, kind="Normal")

    def _emit(self, view: ClusterView, injection: Injection, **kw: str) -> None:
        ref = regarding(view, injection.fault.target)
        if ref is None:
            return  # the target is gone: nothing to attach the event to
        body = self.event(ref, injection_id=injection.id, **kw)
        try:
            self.api.create(EVENTS, body, namespace=body["metadata"]["namespace"])
        except KubernetesApiError as e:
            log.warning("could not write the Kubernetes Event; the journal has the record", reason=kw["reason"],
                        injection_id=injection.id, error=str(e))


def audit_head_event(mark: HeadMark, *, namespace: str, involved: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The core/v1 Event announcing ``mark`` on the ``involved`` object (the agent's Pod or its Lease)."""
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = f", key id {mark.key_id}" if mark.key_id else ", unkeyed"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "chaos-agent-audit-head-", "namespace": namespace},
        "involvedObject": {**involved, "namespace": namespace},
        "reason": REASON,
        "message": f"audit journal {mark.journal}: record {mark.seq} has hash {mark.head}{key}; "
                   f"check with: {mark.verify_command}",
        "type": "Normal",
        "source": {"component": "chaos-agent"},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": involved.get("name") or socket.gethostname(),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def audit_head_event_sink(api: KubeApi, *, namespace: str, pod: str | None, lease: str) -> Sink:
    """A ``HeadAnchor`` sink posting each head as an Event on the agent's Pod (its Lease outside a pod)."""
    involved = ({"apiVersion": "v1", "kind": "Pod", "name": pod} if pod
                else {"apiVersion": LEASES.api_version, "kind": LEASES.kind, "name": lease})

    def post_audit_head_event(mark: HeadMark) -> None:
        body = audit_head_event(mark, namespace=namespace, involved=involved, now=dt.datetime.now(dt.UTC))
        api.create(EVENTS, body, namespace=namespace)

    return post_audit_head_event
