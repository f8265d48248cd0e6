"""The cluster's memory on disk beside the findings store: it survives restarts, so game day 2 continues
where game day 1 stopped; JSON only; clear one-line errors on a store it cannot read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.audit import AuditJournal
from agent.config import load_config
from agent.embedded_cluster import simulated_world
from agent.loop import Supervision, run_game_day
from agent.memory import MemoryStore, MemoryStoreError, fingerprints, memory_path
from agent.safety import SafetyGuard
from envs.faults import FaultKind
from envs.memory import ClusterMemory
from policies.adaptive import AdaptivePolicy
from policies.baselines import UniformRandom
from tests.agent.test_run import write_config


def test_memory_round_trips_and_survives_a_reopen(tmp_path: Path) -> None:
    path = memory_path(tmp_path / "var" / "findings.sqlite")
    assert path == tmp_path / "var" / "memory.sqlite"
    store = MemoryStore(path)
    m = ClusterMemory("shop", game_days=1)
    m.record("shop/Deployment/web", FaultKind.POD_KILL, 0, "new")
    m.learn(["w1"])
    store.save(m)
    store.close()
    again = MemoryStore(path)
    assert again.load("shop") == m and again.clusters() == ["shop"]
    assert again.load("other") == ClusterMemory("other")
    assert b"\x80" not in path.read_bytes()[:100] and path.read_bytes().startswith(b"SQLite format 3")
    again.close()


def test_a_changed_manifest_forgets_that_targets_tries(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    spec = simulated_world(config).spec
    store = MemoryStore(tmp_path / "memory.sqlite")
    m = store.load(spec.name, spec)
    target = spec.workloads[0].key
    m.record(target, FaultKind.POD_KILL, 0, "nothing")
    m.record(spec.workloads[1].key, FaultKind.POD_KILL, 0, "nothing")
    store.save(m)
    changed = dict(fingerprints(spec))
    changed[target] = "edited"
    m2 = store.load(spec.name)
    m2.refresh(changed)
    assert target not in m2.tried_targets() and spec.workloads[1].key in m2.tried_targets()


def test_unreadable_stores_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite"
    store = MemoryStore(path)
    store._db.execute("INSERT INTO memories VALUES ('c', '{\"format\": \"x\"}', 'now')")
    with pytest.raises(MemoryStoreError, match=r"cannot be read.*move the file away"):
        store.load("c")
    store.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(MemoryStoreError, match="schema version 99"):
        MemoryStore(path)


def test_game_day_two_continues_where_game_day_one_stopped(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, strategy="uniform_random"))
    world = simulated_world(config)
    store = MemoryStore(tmp_path / "memory.sqlite")
    strategy = AdaptivePolicy(UniformRandom())

    def game_day() -> None:
        journal = AuditJournal.open(tmp_path / "audit.jsonl", config_hash="c", policy_hash="p")
        guard = SafetyGuard(config.safety, agent_namespace=config.agent.namespace)
        try:
            run_game_day(world=simulated_world(config), strategy=strategy, config=config, max_injections=12,
                         supervision=Supervision(guard=guard, journal=journal, memory=store))
        finally:
            journal.close()

    game_day()
    first = store.load(world.spec.name)
    assert first.game_days == 1 and first.injections == 12 and first.cells
    store.close()
    store = MemoryStore(tmp_path / "memory.sqlite")  # a restart in between
    game_day()
    second = store.load(world.spec.name)
    assert second.game_days == 2 and second.injections == 24
    assert first.known <= second.known
    assert all(n <= 3 for n in second.streaks.values()), "no target and kind beyond 3 fruitless tries"
    store.close()
