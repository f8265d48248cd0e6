"""load_config: the default file parses; every bad value or unknown key is a ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_default_config_runs_on_the_embedded_simulator() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.cluster.backend == "simulated"
    assert config.cluster.simulated.scenario == "ml-platform"
    assert config.audit.path.is_absolute() and config.audit.path.parent.name == "var"
    assert len(config.sha256) == 64


def test_relative_paths_resolve_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "c.toml").write_text('[cluster.simulated]\nmanifests = "apps"\n[audit]\npath = "j/a.jsonl"\n')
    config = load_config(tmp_path / "c.toml")
    assert config.cluster.simulated.manifests == tmp_path / "apps"
    assert config.audit.path == tmp_path / "j" / "a.jsonl"


BAD = [
    ('[safety]\nexclude_faults = ["node_failure", "gpu_explode"]\n', "safety.exclude_faults", "gpu_device_failure"),
    ('[cluster]\nbackend = "docker"\n', "cluster.backend", "'simulated', 'kubernetes'"),
    ('[cluster]\nbackedn = "simulated"\n', "cluster.backedn", "allowed keys"),
    ('[clustr]\nbackend = "simulated"\n', "clustr", "allowed keys"),
    ('[cluster.simulated]\nseed = -1\n', "cluster.simulated.seed", "from 0 to 1e+09"),
    ('[cluster.simulated]\nseed = "seven"\n', "cluster.simulated.seed", "an integer"),
    ('[cluster.simulated]\nseed = 1.5\n', "cluster.simulated.seed", "an integer"),
    ('[cluster.simulated]\nseed = true\n', "cluster.simulated.seed", "an integer"),
    ('[cluster.simulated]\nscenario = "webshop"\n', "cluster.simulated.scenario", "ml-platform"),
    ('[cluster.simulated]\nmanifests = "does/not/exist"\n', "cluster.simulated.manifests", "existing"),
    ('[cluster.simulated]\nscenario = "ml-platform"\nmanifests = "."\n', "both set", "keep one"),
    ('[cluster.simulated]\nmanifests = ""\n', "cluster.simulated.manifests", "a path"),
    ('[cluster]\nsimulated = 3\n', "cluster.simulated", "a table"),
    ('cluster = "simulated"\n', "cluster", "a table"),
    ('[agent]\nmax_injections = 0\n', "agent.max_injections", "from 1 to 1000000"),
    ('[experiment]\nfault_duration_s = "2m"\n', "experiment.fault_duration_s", "a finite number from 0.1 to 86400"),
    ('[experiment]\nsample_every_s = 0\n', "experiment.sample_every_s", "from 0.1 to 3600"),
    ('[policy]\nstrategy = "magic"\n', "policy.strategy", "'rl'"),
    ('[policy]\ntemperature = 0\n', "policy.temperature", "from 0.01 to 100"),
    ('[policy]\ntemperature = 1000\n', "policy.temperature", "from 0.01 to 100"),
    ('[safety]\ndry_run = true\n', "safety.dry_run", "'off', 'plan'"),
    ('[safety]\nmax_concurrent_faults = 0\n', "safety.max_concurrent_faults", "from 1 to 10"),
    ('[safety]\nmax_unavailable_share = 1.5\n', "safety.max_unavailable_share", "from 0 to 1"),
    ('[safety]\nallow_namespaces = "kube-system"\n', "safety.allow_namespaces", "a list of a string"),
    ('[safety]\nallow_namespaces = [1]\n', "safety.allow_namespaces[0]", "a string"),
    ('[audit]\npath = 5\n', "audit.path", "a path"),
    ("[cluster\n", "not valid TOML", ""),
]


@pytest.mark.parametrize(("text", "names", "allowed"), BAD, ids=[b[1] for b in BAD])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(tmp_path: Path, text: str, names: str,
                                                               allowed: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = str(e.value)
    assert names in message and allowed in message, message


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(tmp_path / "b.toml")


def test_config_hash_changes_with_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[agent]\nmax_injections = 5\n")
    b.write_text("[agent]\nmax_injections = 6\n")
    assert load_config(a).sha256 != load_config(b).sha256


def test_design_basis_bounds_come_from_the_config_as_the_envs_dataclass(tmp_path: Path) -> None:
    from envs.design_basis import DesignBasisBounds

    (tmp_path / "c.toml").write_text("[design_basis]\nmax_packet_loss = 0.1\nconcurrent_failures = 2\n")
    bounds = load_config(tmp_path / "c.toml").design_basis.bounds()
    assert bounds == DesignBasisBounds(max_packet_loss=0.1, concurrent_failures=2)
    assert load_config(ROOT / "config.toml").design_basis.bounds() == DesignBasisBounds()


@pytest.mark.parametrize(("text", "key"), [
    ("[design_basis]\nmax_packet_loss = nan\n", "design_basis.max_packet_loss"),
    ("[design_basis]\nmax_ingestion_delay_s = inf\n", "design_basis.max_ingestion_delay_s"),
    ("[design_basis]\nmax_packet_loss = 1.5\n", "design_basis.max_packet_loss"),
    ("[design_basis]\npods_per_workload = -1\n", "design_basis.pods_per_workload"),
    ("[design_basis]\nzones = 2\n", "design_basis.zones"),
    ('[weaknesses]\ntickets = "issue"\n', "weaknesses.tickets"),
    ("[weaknesses]\nverify_seeds = 0\n", "weaknesses.verify_seeds"),
    ('[[schedule.game_days]]\nname = "r"\ncron = "0 9 * * mon"\nkind = "audit"\n', "schedule.game_days"),
])
def test_design_basis_refuses_bad_bounds_with_the_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(ConfigError, match=key):
        load_config(tmp_path / "c.toml")
