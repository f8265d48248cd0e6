"""A PDB whose numbers cannot be read fails closed: it allows no disruption, never any."""

from __future__ import annotations

import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config.safety import SafetySettings
from agent.safety import MemoryKillSwitch, SafetyGuard
from agent.safety.facts import pdb_headroom
from agent.safety.reach import KIND_INDEX
from envs.faults import Fault, FaultKind
from envs.spec import LabelSelector, PdbSpec

WEB = "shop/Deployment/web"
UNREADABLE = [{"min_available": "half"}, {"min_available": "12.5%"}, {"max_unavailable": "lots"},
              {"max_unavailable": "%"}]


@pytest.mark.parametrize("pdb", UNREADABLE)
def test_an_unreadable_pdb_allows_no_disruption(pdb: dict[str, str]) -> None:
    spec = PdbSpec("shop", "web", LabelSelector((("app", "web"),)), **pdb)  # type: ignore[arg-type]
    assert pdb_headroom([spec], desired=4, ready=4) == 0
    readable = PdbSpec("shop", "web", LabelSelector((("app", "web"),)), max_unavailable=3)
    assert pdb_headroom([readable, spec], desired=4, ready=4) == 0  # the tightest wins


@pytest.mark.parametrize("pdb", UNREADABLE)
def test_the_guard_refuses_kills_behind_an_unreadable_pdb(pdb: dict[str, str]) -> None:
    state = cluster([W("shop", "web", 4, on=(("n1", 2), ("n2", 2)), **pdb)])  # type: ignore[arg-type]
    guard = SafetyGuard(SafetySettings(respect_pdb_for_kills=True), agent_namespace=AGENT_NS,
                        kill_switch=MemoryKillSwitch())
    targets = targets_of(state)
    mask = guard.mask(state, targets, [])
    web = targets.index(WEB)
    assert not mask[web, KIND_INDEX[FaultKind.POD_KILL]].any()
    assert not mask[targets.index("Node/n1"), KIND_INDEX[FaultKind.NODE_FAILURE]].any()
    reason = guard.explain(state, Fault(FaultKind.POD_KILL, 0, WEB), [])
    assert reason is not None and "PDB, which allows 0 disruption(s)" in reason
