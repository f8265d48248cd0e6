"""Drain evictions a PodDisruptionBudget refused, tried again while the drain lasts (as ``kubectl drain``).

A PDB refuses an eviction (HTTP 429) while its budget is spent; ``kubectl drain`` tries again every
5 s until the node is empty, and so does the simulator's drain. ``DrainRetries`` keeps, per drain,
the pods still to evict; the backend runs the rounds that are due from its ``wait`` (the experiment's
own thread, no timer of its own), and the drain's revert forgets them before it uncordons. A pod is
dropped once it is gone, replaced (another uid), terminating or off the node, and a whole drain once
its node no longer carries this drain's cordon mark: nothing is evicted from a node the agent did
not cordon. The book lives in memory only, so an agent that dies mid-drain leaves nothing but the
marked cordon, which revert and the start-up sweep find as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.errors import DisruptionBudgetRefused, KubernetesApiError, NotFound
from agent.backends.kubernetes.faults.nodeops import annotation_of
from agent.backends.kubernetes.marks import CORDONED_BY_ANNOTATION
from agent.backends.kubernetes.resources import NODES, PODS
from agent.backends.kubernetes.view import is_terminating, meta

DRAIN_RETRY_S = 5.0
"""Seconds between two tries of a refused eviction: ``kubectl drain``'s period (the simulator's
``Timings.drain_retry_s``)."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RefusedPod:
    namespace: str
    name: str
    uid: str
    """The pod the PDB protected; a pod of the same name with another uid is its replacement."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PendingDrain:
    mark: str
    node: str
    pods: tuple[RefusedPod, ...]
    due_s: float
    """When the next round is due, on the backend's clock."""


class DrainRetries:
    """The refused evictions of the active drains of one backend (thread-safe: a halt may revert)."""

    def __init__(self, period_s: float = DRAIN_RETRY_S) -> None:
        self.period_s = period_s
        self._lock = threading.Lock()
        self._pending: dict[str, PendingDrain] = {}

    def hold(self, mark: str, node: str, pods: Iterable[RefusedPod], *, now_s: float) -> None:
        """Retry ``pods`` on ``node`` (cordoned with ``mark``) every period from ``now_s`` on."""
        refused = tuple(pods)
        if not refused:
            return
        with self._lock:
            self._pending[mark] = PendingDrain(mark, node, refused, now_s + self.period_s)

    def forget(self, mark: str) -> None:
        """The drain ends: no eviction of it happens after this returns (a running round is waited for)."""
        with self._lock:
            self._pending.pop(mark, None)

    def pending(self) -> dict[str, tuple[str, ...]]:
        """Mark -> ``namespace/name`` of the pods its drain still has to evict."""
        with self._lock:
            return {m: tuple(p.key for p in d.pods) for m, d in self._pending.items()}

    def next_due_s(self) -> float | None:
        with self._lock:
            return min((d.due_s for d in self._pending.values()), default=None)

    def run_due(self, api: KubeApi, *, now_s: float) -> list[str]:
        """Run every round due by ``now_s``; returns the pods evicted (``namespace/name``)."""
        evicted: list[str] = []
        with self._lock:
            for mark, drain in list(self._pending.items()):
                if drain.due_s > now_s:
                    continue
                left = _retry_round(api, drain, evicted)
                if left:
                    self._pending[mark] = PendingDrain(mark, drain.node, left, now_s + self.period_s)
                else:
                    del self._pending[mark]
        return evicted


def _retry_round(api: KubeApi, drain: PendingDrain, evicted: list[str]) -> tuple[RefusedPod, ...]:
    """One try at each pod of ``drain``; returns those to try again."""
    try:
        node = api.get(NODES, drain.node)
    except NotFound:
        return ()
    except KubernetesApiError as e:
        log.warning("drain retry postponed: the node could not be read", node=drain.node, error=str(e))
        return drain.pods
    if annotation_of(node, CORDONED_BY_ANNOTATION) != drain.mark:
        log.info("drain retry stopped: the node is no longer cordoned by this drain", node=drain.node, mark=drain.mark)
        return ()
    left: list[RefusedPod] = []
    for pod in drain.pods:
        try:
            if _still_to_evict(api, pod, drain.node):
                api.evict(pod.name, namespace=pod.namespace)
                evicted.append(pod.key)
                log.info("drain retry evicted a pod", pod=pod.key, node=drain.node, mark=drain.mark)
        except NotFound:
            continue
        except DisruptionBudgetRefused:
            left.append(pod)
        except KubernetesApiError as e:
            log.warning("drain retry failed, trying again next round", pod=pod.key, error=str(e))
            left.append(pod)
    return tuple(left)


def _still_to_evict(api: KubeApi, pod: RefusedPod, node: str) -> bool:
    """The refused pod itself still runs on ``node`` and nobody is deleting it."""
    current = api.get(PODS, pod.name, namespace=pod.namespace)
    return (
        meta(current).get("uid") == pod.uid
        and (current.get("spec") or {}).get("nodeName") == node
        and not is_terminating(current)
    )
