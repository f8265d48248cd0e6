"""Crash safety: kill -9 the agent at random points over 100 injections through the emulator, restart it
each time, and show that nothing is left behind and every injection is accounted for in the journal.

The cluster (emulator + simulated control plane) outlives every agent process, as a real one would.
Each life is killed after a random number of new intents, at a random moment inside an experiment (or
1 s after its last intent, so a long node failure is cut short too). The last life is stopped with
SIGTERM. Then: no object with our labels, no taint, annotation or cordon of ours, GPU counts as they
were; every intent closed (refused/failed outcome, or a revert, by the run itself or by the recovery
of the next life); the hash chain verifies.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from agent.audit import RecordKind, open_intents, verify
from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    agent_config,
    free_port,
    intents,
    journal_records,
    wait_for,
)

INJECTIONS = 100


def _kill_at_random(agent: AgentProcess, journal: Path, rng: random.Random) -> int:
    """Let this life inject 4-14 times, then kill -9 it at a random moment; returns intents seen."""
    start = len(intents(journal))
    target = start + rng.randint(4, 14)
    wait_for(lambda: len(intents(journal)) > start or not agent.alive(), 30,
             f"life {agent.lives} to inject\n{agent.logs()}")
    last_count, last_at = len(intents(journal)), time.monotonic()
    while agent.alive():
        count = len(intents(journal))
        if count != last_count:
            last_count, last_at = count, time.monotonic()
        if count >= target or time.monotonic() - last_at > 0.7:
            time.sleep(rng.uniform(0.0, 0.3))  # anywhere in the experiment: before, during, after a fault
            break
        time.sleep(0.02)
    assert agent.alive(), f"the agent died on its own in life {agent.lives}\n{agent.logs()}"
    agent.kill9()
    return len(intents(journal))


def test_kill_9_at_random_points_leaves_nothing_behind(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    rng = random.Random(20261122)
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=free_port(),
                          fault_duration_s=0.1, recovery_s=0.1)
    journal = tmp_path / "audit.jsonl"
    agent = agents(config)
    kills = 0
    while len(intents(journal)) < INJECTIONS:
        agent.start()
        _kill_at_random(agent, journal, rng)
        kills += 1
    seen = len(intents(journal))
    agent.start()  # the last life recovers what the last kill left, then stops cleanly
    wait_for(lambda: len(intents(journal)) > seen, 60, f"the last life to inject\n{agent.logs()}")
    code, _seconds = agent.terminate()
    assert code == 0, agent.logs()

    assert live.leftovers() == [], agent.logs()
    assert open_intents(journal) == []
    report = verify(journal)
    assert report.ok, report.describe()
    records = journal_records(journal)
    closed = {r.injection_id for r in records
              if (r.kind is RecordKind.OUTCOME and r.status in ("refused", "failed"))
              or (r.kind is RecordKind.REVERT and r.status == "reverted")}
    every = intents(journal)
    assert len(every) > INJECTIONS and kills >= 6
    assert [i.injection_id for i in every if i.injection_id not in closed] == []
    applied = {r.injection_id for r in records if r.kind is RecordKind.OUTCOME and r.status == "applied"}
    assert len(applied) >= INJECTIONS // 2  # real injections through the API, not refusals
    recovered = [r for r in records if r.kind is RecordKind.REVERT and r.status == "reverted"
                 and r.injection_id not in {o.injection_id for o in records
                                            if o.kind is RecordKind.OUTCOME and o.status != "applied"}]
    assert recovered
