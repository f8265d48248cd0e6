"""API trouble (429 with Retry-After, 500s, dropped watches, a slow server) does not crash the loop: it
logs, backs off and goes on injecting; SIGTERM still leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from agent.audit import open_intents, verify
from tests.agent.daemon.harness import (
    AgentProcess,
    LiveCluster,
    agent_config,
    free_port,
    intents,
    wait_for,
)


def _more_than(journal: Path, count: int) -> bool:
    return len(intents(journal)) > count


def test_api_errors_do_not_crash_the_loop(
        live: LiveCluster, agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    config = agent_config(tmp_path, kubeconfig=live.kubeconfig(tmp_path / "kubeconfig.json"), port=free_port())
    journal = tmp_path / "audit.jsonl"
    agent = agents(config).start()
    # a subprocess start plus the cache fill: generous, for a loaded 2-core CI machine
    wait_for(lambda: len(intents(journal)) >= 2, 90, f"first injections\n{agent.logs()}")
    em = live.em
    rules = [
        em.fail(r"^PATCH /api/v1/nodes/", 500, times=6),
        em.fail(r"^(DELETE|POST) /api/v1/namespaces/[^/]+/pods/", 429, times=6, retry_after=0.2),
        em.fail(r"^POST /apis/chaos-mesh.org/", 503, times=6),
        em.fail(r"^GET /api/v1/nodes\?(?!.*watch)", 500, times=6),
        em.fail(r"^GET /version", 500, times=20),
        em.fail(r"^DELETE /apis/chaos-mesh.org/", 0, times=3, delay_s=2.5),  # slower than the request timeout
    ]
    for _ in range(3):
        wait_for(lambda: em.drop_watches() > 0, 30, "a re-opened watch to drop", interval_s=0.2)
        more = partial(_more_than, journal, len(intents(journal)))
        wait_for(more, 30, f"injections after the errors\n{agent.logs()}")
    assert agent.alive(), agent.logs()
    assert sum(r.hits for r in rules) > 0
    assert '"event": "watch failed, reconnecting"' in agent.log.read_text()
    code, _ = agent.terminate()
    assert code == 0, agent.logs()
    assert live.leftovers() == [] and open_intents(journal) == [] and verify(journal).ok
