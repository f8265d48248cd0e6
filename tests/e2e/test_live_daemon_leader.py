"""Two daemon replicas on one Lease of the real API server, through forced handovers: never two
injectors, as their journals show.

Each replica reaches the API server through its own proxy (``LeaseStallProxy``). Handovers are forced
while the leader holds a fault, in turn by: a stalled renewal (the leader's Lease requests hang while
the rest of its process runs, the case issue 8 measured), kill -9, SIGTERM (a clean release), and
SIGSTOP (the whole process hangs, as on a stalled machine). From the two journals each injection is an
interval from its intent to its end as the cluster saw it: its revert, or the other replica's sweep of
its mark when that came first; for a one-shot fault (pods killed or evicted: nothing stays in the
cluster, nothing is reverted or swept) its outcome. No interval of one replica may overlap one of the
other's. And no intent of a replica falls outside the lease it holds: each is journalled within the
lease duration after a Lease write of its own identity that the API server accepted (recorded at the
proxy), since after that the other replica may take the lease over.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.backends.kubernetes.marks import label_value
from tests.agent.daemon.harness import AgentProcess, active_fault, free_port, wait_for
from tests.e2e.live_agent import AGENT_NAMESPACE, Injection, InstalledAgent, agent_config, injections, leftovers, sweeps
from tests.e2e.stall_proxy import LeaseStallProxy
from tests.servers.kubernetes import ControlPlane, kubeconfig_text
from tests.servers.kubernetes_api import ApiStatus, wait_until

LEASE_S = 3.0
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{AGENT_NAMESPACE}/leases/chaos-agent-leader"
METHODS = ("stall", "kill", "sigterm", "sigstop")
HANDOVERS = 20
INF = float("inf")
ONE_SHOT = {"pod_kill", "container_crash", "pod_eviction", "gpu_memory_pressure"}
"""Kinds whose effect is done when applied: pods are deleted or evicted and their controllers replace
them; revert has nothing to undo and no mark stays for a sweep."""


@dataclass(frozen=True)
class Interval:
    replica: str
    injection_id: str
    kind: str
    start: float
    end: float

    def describe(self) -> str:
        return f"{self.replica} {self.injection_id} {self.kind} [{self.start:.2f}, {self.end:.2f}]"


def intervals(journals: dict[str, Path]) -> list[Interval]:
    """Each replica's applied (or possibly applied) injections as they lasted in the cluster."""
    swept = {name: sweeps(path) for name, path in journals.items()}
    out = []
    for name, path in journals.items():
        others = [s for other, notes in swept.items() if other != name for s in notes]
        for i in injections(path, name):
            if i.outcome not in (None, "applied"):
                continue  # refused or failed: nothing stayed in the cluster
            ends = [i.reverted if i.reverted is not None else INF]
            if i.kind in ONE_SHOT and i.outcome_at is not None:
                ends.append(i.outcome_at)
            ends += [t for t, note in others if t >= i.started and label_value(i.injection_id) in note]
            out.append(Interval(name, i.injection_id, i.kind, i.started, min(ends)))
    return out


def overlaps(spans: list[Interval]) -> list[str]:
    return [f"{a.describe()} overlaps {b.describe()}" for i, a in enumerate(spans) for b in spans[i + 1:]
            if a.replica != b.replica and a.start < b.end and b.start < a.end]


def outside_lease(replica: str, writes: list[tuple[float, str]], journal: Path) -> list[str]:
    """The replica's intents journalled when no accepted Lease write of its own was under LEASE_S old."""
    held = sorted(t for t, who in writes if who == replica)
    out = []
    for i in injections(journal, replica):
        last = max((t for t in held if t <= i.started), default=None)
        if last is None or i.started - last >= LEASE_S:
            age = "no lease write before it" if last is None else f"{i.started - last:.2f} s after its last lease write"
            out.append(f"{replica} {i.injection_id} {i.kind} intent at {i.started:.2f}: {age}")
    return out


def holder(plane: ControlPlane) -> str:
    try:
        return str(plane.admin.get(LEASE)["spec"].get("holderIdentity") or "")
    except ApiStatus as e:
        if e.code == 404:  # not created yet
            return ""
        raise


class Replicas:
    """Two daemons, each behind its own stall proxy, and the forced handovers between them."""

    def __init__(self, plane: ControlPlane, installed: InstalledAgent, folder: Path,
                 agents: Callable[..., AgentProcess]) -> None:
        self.plane = plane
        self.names = ("replica-a", "replica-b")
        serving = plane.pki.serving("stall-proxy", ["127.0.0.1"], ["localhost"])
        self.proxies = {n: LeaseStallProxy(plane.url, ca=plane.pki.ca.cert, serving=serving).start()
                        for n in self.names}
        self.procs: dict[str, AgentProcess] = {}
        self.journals = {n: folder / n / "audit.jsonl" for n in self.names}
        for n in self.names:
            kubeconfig = folder / n / "kubeconfig"
            kubeconfig.parent.mkdir(parents=True)
            kubeconfig.write_text(kubeconfig_text(self.proxies[n].url, plane.pki.ca.cert, user=n,
                                                  token=installed.token))
            config = agent_config(folder / n, kubeconfig=kubeconfig, port=free_port(), strategy="uniform_random",
                                  fault_duration_s=3.0, recovery_s=0.3, lease_duration_s=LEASE_S,
                                  request_timeout_s=2.0)
            self.procs[n] = agents(config, name=n)

    def logs(self) -> str:
        return "".join(p.logs() for p in self.procs.values())

    def leader(self) -> str:
        return wait_until(lambda: (h if (h := holder(self.plane)) in self.procs and self.procs[h].alive() else None),
                          timeout_s=60, what="a leader", detail=self.logs)

    def handover(self, method: str) -> str:
        """Force the leader out while it holds a fault; returns what happened."""
        leader = self.leader()
        other = next(n for n in self.names if n != leader)
        old, new = self.procs[leader], self.procs[other]
        wait_for(lambda: active_fault(self.journals[leader]), 60, f"{leader} to hold a fault\n{old.logs()}")
        assert old.process is not None
        if method == "stall":
            self.proxies[leader].stall()
        elif method == "kill":
            old.kill9()
        elif method == "sigterm":
            code, _ = old.terminate(timeout_s=60)
            assert code == 0, old.logs()
        else:
            old.process.send_signal(signal.SIGSTOP)
        wait_until(lambda: holder(self.plane) == other, timeout_s=LEASE_S * 6 + 10,
                   what=f"{other} to take the lease from {leader} ({method})", detail=new.logs)
        # the new leader injects while the old one is still stalled, stopped or restarting
        seen = len(injections(self.journals[other], other))
        wait_for(lambda: len(injections(self.journals[other], other)) > seen, 60,
                 f"{other} to inject after taking over\n{new.logs()}")
        if method == "stall":
            self.proxies[leader].release()
        elif method in ("kill", "sigterm"):
            old.start()
        else:
            old.process.send_signal(signal.SIGCONT)
        return f"{leader}->{other} by {method}"

    def stop(self) -> None:
        for p in self.procs.values():
            if p.alive():
                code, _ = p.terminate(timeout_s=60)
                assert code == 0, p.logs()

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()


def run_handovers(count: int, plane: ControlPlane, installed: InstalledAgent, folder: Path,
                  agents: Callable[..., AgentProcess]) -> tuple[list[str], Replicas, list[Injection]]:
    plane.admin.delete(LEASE)
    replicas = Replicas(plane, installed, folder, agents)
    try:
        for p in replicas.procs.values():
            p.start()
        done = [replicas.handover(METHODS[turn % len(METHODS)]) for turn in range(count)]
        replicas.stop()
    finally:
        replicas.close()
    every = [i for n, path in replicas.journals.items() for i in injections(path, n)]
    return done, replicas, every


def _check(count: int, control_plane: ControlPlane, installed_agent: InstalledAgent, gpus: dict[str, str],
           tmp_path: Path, agents: Callable[..., AgentProcess]) -> None:
    started = time.monotonic()
    done, replicas, every = run_handovers(count, control_plane, installed_agent, tmp_path, agents)
    assert len(done) == count
    found = overlaps(intervals(replicas.journals))
    found += [line for n in replicas.names
              for line in outside_lease(n, replicas.proxies[n].lease_writes, replicas.journals[n])]
    assert found == [], f"two injectors at once over {len(done)} handovers ({', '.join(done)}):\n" + "\n".join(found)
    assert sum(1 for i in every if i.outcome == "applied") >= count
    assert leftovers(control_plane.admin, gpus=gpus) == []
    applied = sum(1 for i in every if i.outcome == "applied")
    print(f"{count} handovers in {time.monotonic() - started:.0f} s, {applied} faults applied: {', '.join(done)}")


@pytest.mark.timeout(600)  # about 75 s on 2 quiet cores (docs/benchmarks.md); the budget is for busy ones
def test_two_replicas_never_inject_at_once_over_20_handovers(
        control_plane: ControlPlane, installed_agent: InstalledAgent, clean_platform: dict[str, str],
        tmp_path: Path, agents: Callable[..., AgentProcess]) -> None:
    _check(HANDOVERS, control_plane, installed_agent, clean_platform, tmp_path, agents)
