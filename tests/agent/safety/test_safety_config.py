"""[safety] and [audit] as config.toml spells them: parsed, checked, and turned into a working guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config import load_config
from agent.config.safety import SafetySettings
from agent.errors import ConfigError
from agent.safety import FileKillSwitch, MemoryKillSwitch, SafetyGuard
from envs.faults import Fault, FaultKind


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_real_cluster_profile_loads_and_guards(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[safety]
dry_run = "plan"
opt_in = true
max_unavailable_share = 0.5
protect_last_replica = true
respect_pdb_for_kills = true
max_concurrent_faults = 1
error_budget = 10
allow_namespaces = ["kube-system"]
exclude_targets = ["shop/Deployment/db"]
halt_file = "state/halt"

[audit]
path = "journal/audit.jsonl"
"""))
    s = config.safety
    assert (s.dry_run, s.opt_in, s.max_unavailable_share) == ("plan", True, 0.5)
    assert s.respect_pdb_for_kills and s.protect_last_replica
    assert s.halt_file == tmp_path / "state" / "halt"
    assert config.audit.path == tmp_path / "journal" / "audit.jsonl"
    guard = SafetyGuard(s, agent_namespace=config.agent.namespace)
    assert isinstance(guard.kill_switch, FileKillSwitch) and guard.kill_switch.path == s.halt_file
    assert guard.budget.limit_s == 600.0
    state = cluster([W("shop", "web", 4, on=(("n1", 2), ("n2", 2)), opted_in=True)])
    assert guard.mask(state, targets_of(state), []).any()
    FileKillSwitch(s.halt_file).halt("test")
    assert not guard.mask(state, targets_of(state), []).any()


@pytest.mark.parametrize(("line", "message"), [
    ('dry_run = "maybe"', "safety.dry_run must be one of 'off', 'plan'"),
    ("dry_run = true", "safety.dry_run must be one of"),
    ("max_concurrent_faults = 0", "safety.max_concurrent_faults must be from 1 to 10, got 0"),
    ("max_unavailable_share = 1.5", "safety.max_unavailable_share must be from 0 to 1, got 1.5"),
    ("respect_pdb_for_kills = 1", "safety.respect_pdb_for_kills must be true or false"),
    ('exclude_namespaces = [""]', "safety.exclude_namespaces must not contain empty names"),
    ("error_budget = -1", "safety.error_budget must be from 0 to 1000000, got -1"),
    ("kill_switch = true", "safety.kill_switch is not a known key"),
])
def test_bad_values_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(write(tmp_path, f"[safety]\n{line}\n"))


def test_no_targets_gives_an_empty_mask() -> None:
    state = cluster([])
    guard = SafetyGuard(SafetySettings(), agent_namespace=AGENT_NS, kill_switch=MemoryKillSwitch())
    assert guard.mask(state, [], []).shape == (0, 15, 3)


def _verdicts(config_text: str, tmp_path: Path) -> dict[str, str | None]:
    """What the guard of a loaded config says about three faults on a small cluster."""
    config = load_config(write(tmp_path, config_text))
    guard = SafetyGuard(config.safety, agent_namespace=config.agent.namespace, kill_switch=MemoryKillSwitch())
    state = cluster([W("shop", "web", 2, on=(("n1", 1), ("n2", 1)), min_available=2),
                     W("shop", "solo", 1, on=(("n1", 1),))])
    faults = {
        "half of web": Fault(FaultKind.POD_KILL, 1, "shop/Deployment/web"),
        "all of web": Fault(FaultKind.POD_KILL, 2, "shop/Deployment/web"),
        "the only solo": Fault(FaultKind.POD_KILL, 0, "shop/Deployment/solo"),
    }
    return {name: guard.explain(state, fault, []) for name, fault in faults.items()}


def test_a_minimal_config_on_a_real_cluster_gets_the_conservative_blast_radius(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[cluster]\nbackend = "kubernetes"\n'))
    s = config.safety
    assert (s.max_concurrent_faults, s.max_unavailable_share, s.protect_last_replica, s.respect_pdb_for_kills) == (
        1, 0.5, True, True)
    verdicts = _verdicts('[cluster]\nbackend = "kubernetes"\n', tmp_path)
    assert "safety.respect_pdb_for_kills" in str(verdicts["half of web"])  # the PDB allows no disruption
    assert "safety.max_unavailable_share" in str(verdicts["all of web"])
    assert "safety.max_unavailable_share" in str(verdicts["the only solo"])


def test_the_simulator_loosens_the_defaults_it_is_not_given(tmp_path: Path) -> None:
    assert _verdicts('[cluster]\nbackend = "simulated"\n', tmp_path) == dict.fromkeys(
        ("half of web", "all of web", "the only solo"))
    given = '[cluster]\nbackend = "simulated"\n[safety]\nprotect_last_replica = true\n'
    s = load_config(write(tmp_path, given)).safety
    assert (s.max_concurrent_faults, s.max_unavailable_share, s.protect_last_replica, s.respect_pdb_for_kills) == (
        2, 1.0, True, False), "a key the file sets is kept as set"
    given = '[cluster]\nbackend = "kubernetes"\n[safety]\nmax_unavailable_share = 1.0\n'
    s = load_config(write(tmp_path, given)).safety
    assert (s.max_unavailable_share, s.protect_last_replica) == (1.0, True)
