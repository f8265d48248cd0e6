"""[safety] and [audit] as config.toml spells them: parsed, checked, and turned into a working guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_clusters import AGENT_NS, W, cluster, targets_of

from agent.config import load_config
from agent.config.safety import SafetySettings
from agent.errors import ConfigError
from agent.safety import FileKillSwitch, MemoryKillSwitch, SafetyGuard


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
