"""Kubernetes Events the agent posts: the audit journal's head, where the agent cannot rewrite it.

The agent's ServiceAccount may create Events but not update or delete them, so a head published as an
Event outlives a rewrite of the journal on the pod's volume (for the API server's event TTL, an hour by
default; the log stream keeps it longer). ``kubectl get events -n NS --field-selector reason=AuditHead``
lists them.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

from agent.audit.anchor import HeadMark, Sink
from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.resources import EVENTS, LEASES

REASON = "AuditHead"
COMPONENT = "chaos-agent"


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
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
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
