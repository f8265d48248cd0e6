"""How the agent marks what it creates or changes, so a revert (or a restart) finds exactly that.

Objects the agent creates carry the labels ``app.kubernetes.io/managed-by: chaos-agent`` and
``chaos-agent.io/injection-id: <id as a label value>`` plus the annotation with the full id. Nodes
are shared by several faults, so their marks are per fault: a taint whose value is the id, or an
annotation holding the id (and what to restore).
"""

from __future__ import annotations

import hashlib
import re

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "chaos-agent"
INJECTION_LABEL = "chaos-agent.io/injection-id"
INJECTION_ANNOTATION = "chaos-agent.io/injection-id"
NODE_FAILURE_TAINT = "chaos-agent.io/node-failure"
GPU_FAILURE_TAINT = "chaos-agent.io/gpu-failure"
CORDONED_BY_ANNOTATION = "chaos-agent.io/cordoned-by"
GPU_ORIGINAL_ANNOTATION = "chaos-agent.io/gpu-failure"
"""JSON ``{"id": ..., "capacity": ..., "allocatable": ...}``: the node's values before the fault."""

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


def label_value(injection_id: str) -> str:
    """The id as a label value: itself when valid, else a stable hash (the annotation keeps the id)."""
    if len(injection_id) <= 63 and _LABEL_VALUE.match(injection_id):
        return injection_id
    return "h-" + hashlib.sha256(injection_id.encode()).hexdigest()[:40]


def object_name(prefix: str, injection_id: str) -> str:
    """A DNS-1123 object name for something created for ``injection_id``."""
    slug = _DNS_LABEL.sub("-", injection_id.lower()).strip("-")
    digest = hashlib.sha256(injection_id.encode()).hexdigest()[:8]
    return f"{prefix}-{slug[:40].strip('-')}-{digest}".replace("--", "-")


def injection_labels(injection_id: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY, INJECTION_LABEL: label_value(injection_id)}


def injection_annotations(injection_id: str) -> dict[str, str]:
    return {INJECTION_ANNOTATION: injection_id}


def managed_selector(injection_id: str | None = None) -> str:
    """A label selector for everything the agent made (for one injection when given)."""
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
    if injection_id is not None:
        selector += f",{INJECTION_LABEL}={label_value(injection_id)}"
    return selector
