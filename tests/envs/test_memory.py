"""The cluster's memory: outcomes, streaks without new evidence, known weaknesses, JSON round trip;
and the observation it seeds, whose try counts no longer saturate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from envs.actions import KIND_INDEX
from envs.faults import FaultKind
from envs.memory import ClusterMemory, MemoryFormatError
from envs.observation import TARGET_FEATURES, History, target_features
from envs.profile import STATIC_FEATURES, profile
from envs.sim import SimulatedCluster
from tests.envs.sim.sim_specs import WEB, web_spec

KILL, DRAIN = FaultKind.POD_KILL, FaultKind.NODE_DRAIN


def test_streaks_count_tries_since_the_last_new_weakness() -> None:
    m = ClusterMemory("c")
    for outcome in ("nothing", "refused", "known"):
        m.record("a", KILL, 0, outcome)  # type: ignore[arg-type]
    assert m.streak("a", KILL) == 3 and m.streak("a", DRAIN) == 0
    m.record("a", KILL, 1, "new")
    assert m.streak("a", KILL) == 0
    assert m.cells[("a", KILL, 0)].tries == 3 and m.cells[("a", KILL, 0)].showed_a_weakness
    assert m.injections == 4
    assert m.learn(["w1", "w2"]) == {"w1", "w2"} and m.learn(["w2", "w3"]) == {"w3"}


def test_json_round_trip_and_bad_input() -> None:
    m = ClusterMemory("c", game_days=2)
    m.record("a", KILL, 2, "new")
    m.record("Node/n1", DRAIN, 0, "refused")
    m.learn(["w1"])
    m.refresh({"a": "x1", "Node/n1": "y"})
    back = ClusterMemory.from_json(json.loads(json.dumps(m.to_json())))
    assert back == m
    with pytest.raises(MemoryFormatError, match="format"):
        ClusterMemory.from_json({"format": "other"})
    bad = {**m.to_json(), "cells": [["a", "pod_kill", 7, 1, 0, 0, 0]]}
    with pytest.raises(MemoryFormatError, match="intensity 7"):
        ClusterMemory.from_json(bad)
    with pytest.raises(MemoryFormatError, match="malformed"):
        ClusterMemory.from_json({**m.to_json(), "cells": [["a", "no_such_fault", 0, 1, 0, 0, 0]]})


def test_a_changed_manifest_clears_that_targets_tries() -> None:
    m = ClusterMemory("c")
    m.refresh({"a": "1", "b": "1"})
    m.record("a", KILL, 0, "nothing")
    m.record("b", KILL, 0, "nothing")
    assert m.refresh({"a": "2", "b": "1"}) == ["a"]
    assert m.tried_targets() == {"b"} and m.streak("a", KILL) == 0 and m.streak("b", KILL) == 1


def test_try_features_tell_three_tries_from_thirty() -> None:
    spec = web_spec(3)
    prof = profile(spec)
    state = SimulatedCluster(spec, seed=0).snapshot()
    col = len(STATIC_FEATURES)
    kill = TARGET_FEATURES.index(f"tried_{KILL.value}") - col
    fruitless = TARGET_FEATURES.index("fruitless_log") - col

    def features(tries: int) -> np.ndarray:
        h = History(len(prof.targets))
        for _ in range(tries):
            h.record(prof.index[WEB], KILL, found=False)
        return target_features(prof, state, {}, h, None)[prof.index[WEB], col:]

    three, thirty = features(3), features(30)
    assert thirty[kill] > three[kill] + 0.5 and thirty[fruitless] > three[fruitless] + 0.5


def test_history_from_memory_carries_earlier_game_days() -> None:
    prof = profile(web_spec(3))
    m = ClusterMemory("c")
    for _ in range(4):
        m.record(WEB, KILL, 0, "nothing")
    m.record(WEB, DRAIN, 1, "known")
    m.record("ns/Deployment/gone", KILL, 0, "new")  # a target this topology no longer has
    h = History.from_memory(m, prof.targets)
    i = prof.index[WEB]
    assert h.tried[i, KIND_INDEX[KILL]] == 4 and h.streak[i, KIND_INDEX[KILL]] == 4
    assert h.found[i, KIND_INDEX[DRAIN]] == 1 and h.found[i, KIND_INDEX[KILL]] == 0
    assert h.tried.sum() == 5
