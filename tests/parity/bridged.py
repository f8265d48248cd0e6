"""The agent's Kubernetes backend on the emulator, stepped in the bridged simulator's time.

``SimulatedControlPlane`` plays controllers, scheduler and kubelets behind the emulator.
``BridgedCluster`` is the ``ClusterBackend`` the experiment loop drives: snapshots and faults go
through the agent's ``KubernetesBackend`` over HTTP; ``wait`` lets the bridged simulator's time pass
(feeding it what the agent did through the API, mirroring the result back; stopping where a drain
retry of the backend falls due) and then waits until the backend's watch cache has seen every
change, so the next decision reads what the API server holds.
The bridged simulator is also the steady-state source, standing in for Prometheus and the exporters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.marks import managed_selector
from agent.backends.kubernetes.resources import NODES, PODS
from agent.config.cluster import KubernetesCluster
from envs.cluster import ClusterState, Injection
from envs.faults import Fault
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec
from tests.emulator.controllers import SimulatedControlPlane
from tests.emulator.server import KubernetesEmulator

SYNC_TIMEOUT_S = 10.0
AGENT_PREFIX = "chaos-agent.io/"

MakeBridge = Callable[[ClusterSpec, int, KubernetesCluster], "BridgedCluster"]
"""The ``bridge`` fixture: ``bridge(spec, seed, settings)``."""


class CacheOutOfSync(AssertionError):
    """The watch cache did not catch up with the emulator in time (a lost or stuck watch)."""


class BridgedCluster:
    def __init__(self, plane: SimulatedControlPlane, backend: KubernetesBackend) -> None:
        self.plane = plane
        self.backend = backend

    def snapshot(self) -> ClusterState:
        self.sync()
        return self.backend.snapshot()

    def inject(self, fault: Fault, *, injection_id: str) -> Injection:
        self.sync()
        return self.backend.inject(fault, injection_id=injection_id)

    def revert(self, injection: Injection) -> None:
        self.backend.revert(injection)

    def wait(self, seconds: float) -> None:
        """As ``KubernetesBackend.wait``, on the simulator's clock: the drain retries due on the way run
        when their time comes, from what the API server holds then."""
        end = self.now() + max(0.0, seconds)
        while (due := self.backend.next_retry_s()) is not None and due <= end:
            self.plane.advance(max(0.0, due - self.now()))
            self.sync()
            self.backend.run_due_retries()
        self.plane.advance(max(0.0, end - self.now()))
        self.sync()

    def now(self) -> float:
        return self.plane.sim.now()

    def converged(self) -> bool:
        """As ``World.converged`` judges it, from the agent's own snapshot of the API objects."""
        state = self.snapshot()
        return all(w.ready >= w.desired for w in state.workloads.values()) and all(
            n.ready for n in state.nodes.values()
        )

    def sync(self) -> None:
        """Block until the cache holds the emulator's pods and nodes at their current versions."""
        em, cache = self.plane.em, self.backend.cache

        def caught_up() -> bool:
            return _versions(cache.objects((PODS,))) == _versions(em.list("Pod")) and _versions(
                cache.objects((NODES,))
            ) == _versions(em.list("Node"))

        if not cache.wait_until(caught_up, timeout_s=SYNC_TIMEOUT_S):
            raise CacheOutOfSync(f"the watch cache did not reach the emulator's state within {SYNC_TIMEOUT_S:g} s")


def _versions(objs: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in objs}


def emulator_leftovers(em: KubernetesEmulator) -> list[str]:
    """Every trace of a fault in the emulator: objects with the agent's labels, its taints, marks, cordons."""
    found = [
        f"{rt.kind} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
        for rt in em.types.values()
        for o in em.store.select(rt, None, managed_selector())
    ]
    for node in em.list("Node"):
        name, spec, meta = node["metadata"]["name"], node.get("spec") or {}, node["metadata"]
        found += [f"taint {t['key']} on {name}" for t in spec.get("taints") or [] if t["key"].startswith(AGENT_PREFIX)]
        found += [f"annotation {k} on {name}" for k in meta.get("annotations") or {} if k.startswith(AGENT_PREFIX)]
        if spec.get("unschedulable"):
            found.append(f"node {name} cordoned")
    return found


def simulator_leftovers(sim: SimulatedCluster) -> list[str]:
    """Every fault still active in a simulator, and every node still cordoned or tainted by one."""
    return [f"simulator node {n.name} held by {sorted(n.cordons)}" for n in sim.nodes if n.cordons] + [
        f"simulator fault {i} active" for i in sim.active
    ]


def view_mismatches(bridged: BridgedCluster) -> list[str]:
    """Where the agent's snapshot (watch cache and twin) differs from the bridged simulator's ground truth."""
    seen, truth = bridged.snapshot(), bridged.plane.sim.snapshot()

    def status(state: ClusterState, key: str) -> tuple[int, int, dict[str, int]] | None:
        w = state.workloads.get(key)
        return None if w is None else (w.desired, w.ready, dict(w.pods_by_node))

    out = [
        f"{key}: agent sees {status(seen, key)}, simulator has {status(truth, key)}"
        for key in truth.workloads
        if status(seen, key) != status(truth, key)
    ]
    out += [
        f"{key}: agent sees {node}, simulator has {n}"
        for key, n in truth.nodes.items()
        if (node := seen.nodes.get(key)) is None or (node.ready, node.schedulable) != (n.ready, n.schedulable)
    ]
    return out
