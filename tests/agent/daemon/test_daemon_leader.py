"""Two replicas on one Lease: exactly one injects; kill -9 the leader and the other takes over within the
lease duration, sweeping what the dead leader left in the cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    active_fault,
    agent_config,
    free_port,
    http_get,
    intents,
    wait_for,
)

LEASE_S = 2.0


def test_one_leader_injects_and_the_standby_takes_over(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    kubeconfig = live.kubeconfig(tmp_path / "kubeconfig.json")
    ports = {name: free_port() for name in ("a", "b")}
    procs = {name: agents(agent_config(tmp_path / name, kubeconfig=kubeconfig, port=ports[name],
                                       fault_duration_s=3, lease_duration_s=LEASE_S), name=f"replica-{name}")
             for name in ("a", "b")}
    for p in procs.values():
        p.start()
    journals = {name: tmp_path / name / "audit.jsonl" for name in procs}
    leader = wait_for(lambda: next((n for n, j in journals.items() if intents(j)), None), 30,
                      "a leader to inject\n" + "".join(p.logs() for p in procs.values()))
    standby = "b" if leader == "a" else "a"
    time.sleep(2 * LEASE_S)
    assert intents(journals[leader]) and not intents(journals[standby]), "both replicas injected"
    assert http_get(f"http://127.0.0.1:{ports[standby]}/readyz")[0] == 200  # the standby is ready, waiting

    wait_for(lambda: active_fault(journals[leader]), 30, "the leader to hold a fault")
    procs[leader].kill9()
    killed_at = time.monotonic()
    wait_for(lambda: intents(journals[standby]), LEASE_S + 8, "the standby to take over\n" + procs[standby].logs())
    takeover_s = time.monotonic() - killed_at
    assert takeover_s < LEASE_S + 3.0, f"takeover took {takeover_s:.1f} s for a {LEASE_S} s lease"
    code, _ = procs[standby].terminate()
    assert code == 0
    assert live.leftovers() == [], "the new leader did not sweep the dead leader's faults"
