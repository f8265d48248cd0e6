"""Keeping a GPU device failure's lowered ``nvidia.com/gpu`` count in the node's status while it lasts.

The kubelet owns a node's status: at its next status report (``nodeStatusUpdateFrequency``, 10 s by
default, and at once when it sees a difference) it writes back the count the device plugin reports,
so a lowered count does not survive on its own. ``GpuHolds`` keeps, per active GPU failure, the node
and the lowered counts, and re-applies them (a patch of the status subresource) whenever a round
finds the node's count above them: every ``period_s`` (1 s), run from ``KubernetesBackend.wait`` in
the experiment's own thread, as the drain retries are. Between the kubelet's write and the next
round the full count shows for up to ``period_s``. A hold ends with its fault's revert, or once the
node no longer carries that fault's record (a sweep restored it, or the node left). It lives in memory
only: an agent that dies leaves the record, which the kubelet's next report and the sweep undo.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import structlog

from agent.backends.kubernetes.api import KubeApi, Obj
from agent.backends.kubernetes.errors import KubernetesApiError, NotFound
from agent.backends.kubernetes.faults.nodeops import annotation_of
from agent.backends.kubernetes.marks import GPU_ORIGINAL_ANNOTATION
from agent.backends.kubernetes.resources import NODES
from agent.backends.kubernetes.view import parse_quantity_int
from envs.spec import GPU_RESOURCE

GPU_REAPPLY_S = 1.0
"""Seconds between two checks of a GPU failure's node (the kubelet reports every 10 s by default)."""
FIELDS = ("capacity", "allocatable")
log = structlog.get_logger(__name__)


def gpu_count(node: Obj, field: str) -> int:
    return parse_quantity_int(((node.get("status") or {}).get(field) or {}).get(GPU_RESOURCE, 0))


def gpu_record(node: Obj) -> dict | None:
    """The GPU failure record a node carries: ``{"id", "capacity", "allocatable", "lowered"}``."""
    raw = annotation_of(node, GPU_ORIGINAL_ANNOTATION)
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class GpuHold:
    mark: str
    node: str
    lowered: dict[str, int]
    """Field (capacity, allocatable) -> the count the fault keeps."""
    due_s: float


class GpuHolds:
    """The lowered GPU counts of one backend's active GPU failures (thread-safe: a halt may revert)."""

    def __init__(self, period_s: float = GPU_REAPPLY_S) -> None:
        self.period_s = period_s
        self._lock = threading.Lock()
        self._holds: dict[str, GpuHold] = {}

    def hold(self, mark: str, node: str, lowered: dict[str, int], *, now_s: float) -> None:
        with self._lock:
            self._holds[mark] = GpuHold(mark, node, dict(lowered), now_s + self.period_s)

    def forget(self, mark: str) -> None:
        """The fault ends: no re-apply of it happens after this returns (a running round is waited for)."""
        with self._lock:
            self._holds.pop(mark, None)

    def held(self) -> dict[str, str]:
        """Mark -> node of every hold."""
        with self._lock:
            return {m: h.node for m, h in self._holds.items()}

    def next_due_s(self) -> float | None:
        with self._lock:
            return min((h.due_s for h in self._holds.values()), default=None)

    def run_due(self, api: KubeApi, *, now_s: float) -> list[str]:
        """Run every round due by ``now_s``; returns the nodes whose count was lowered again."""
        reapplied: list[str] = []
        with self._lock:
            for mark, hold in list(self._holds.items()):
                if hold.due_s > now_s:
                    continue
                keep, patched = _round(api, hold)
                if patched:
                    reapplied.append(hold.node)
                if keep:
                    self._holds[mark] = GpuHold(mark, hold.node, hold.lowered, now_s + self.period_s)
                else:
                    del self._holds[mark]
        return reapplied


def _round(api: KubeApi, hold: GpuHold) -> tuple[bool, bool]:
    """(keep the hold, patched): the node's counts patched back down when the kubelet raised them."""
    try:
        node = api.get(NODES, hold.node)
    except NotFound:
        return False, False
    except KubernetesApiError as e:
        log.warning("GPU failure's node could not be read; trying again next round", node=hold.node, error=str(e))
        return True, False
    if (gpu_record(node) or {}).get("id") != hold.mark:
        return False, False
    if all(gpu_count(node, f) <= v for f, v in hold.lowered.items()):
        return True, False
    try:
        api.patch(NODES, hold.node, {"status": {f: {GPU_RESOURCE: str(v)} for f, v in hold.lowered.items()}},
                  subresource="status")
    except KubernetesApiError as e:
        log.warning("could not keep a GPU failure's count lowered; trying again next round", node=hold.node,
                    mark=hold.mark, error=str(e))
        return True, False
    log.info("GPU failure's count re-applied after the kubelet's status report", node=hold.node, mark=hold.mark,
             lowered=hold.lowered)
    return True, True
