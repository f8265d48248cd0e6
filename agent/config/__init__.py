"""The configuration: ``load_config(path)`` parses ``config.toml`` into frozen, grouped settings.

No other module reads raw configuration. Each section lives in its own module beside this one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from agent.config.cluster import ClusterSettings
from agent.config.design_basis import DesignBasisSettings
from agent.config.exporters import ExportersSettings
from agent.config.parse import ParseContext, for_simulator, parse_section, setting
from agent.config.prometheus import PrometheusSettings
from agent.config.records import AuditSettings, FindingsSettings
from agent.config.run import AgentSettings, ExperimentSettings, PolicySettings
from agent.config.safety import SafetySettings
from agent.config.schedule import ScheduleSettings, ServiceSettings
from agent.config.weaknesses import WeaknessSettings
from agent.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    cluster: ClusterSettings = setting(factory=ClusterSettings, doc="[cluster]")
    agent: AgentSettings = setting(factory=AgentSettings, doc="[agent]")
    experiment: ExperimentSettings = setting(factory=ExperimentSettings, doc="[experiment]")
    policy: PolicySettings = setting(factory=PolicySettings, doc="[policy]")
    safety: SafetySettings = setting(factory=SafetySettings, doc="[safety]")
    design_basis: DesignBasisSettings = setting(factory=DesignBasisSettings, doc="[design_basis]")
    weaknesses: WeaknessSettings = setting(factory=WeaknessSettings, doc="[weaknesses]")
    audit: AuditSettings = setting(factory=AuditSettings, doc="[audit]")
    findings: FindingsSettings = setting(factory=FindingsSettings, doc="[findings]")
    exporters: ExportersSettings = setting(factory=ExportersSettings, doc="[exporters]")
    prometheus: PrometheusSettings = setting(factory=PrometheusSettings, doc="[prometheus]")
    schedule: ScheduleSettings = setting(factory=ScheduleSettings, doc="[schedule]")
    service: ServiceSettings = setting(factory=ServiceSettings, doc="[service]")


@dataclass(frozen=True)
class Config(Settings):
    """The settings plus where they came from."""

    path: Path = Path("config.toml")
    sha256: str = ""
    """Hash of the file's bytes, recorded in the audit header."""


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"config file {p} does not exist; pass --config with the path of a config.toml") from e
    except OSError as e:
        raise ConfigError(f"config file {p} cannot be read: {e.strerror}") from e
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {p} is not UTF-8 text") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from e
    settings = parse_section(Settings, raw, "", ParseContext(p.resolve().parent))
    if settings.cluster.backend == "simulated":  # safe defaults are a real cluster's; the simulator loosens them
        settings = dataclasses.replace(settings, safety=for_simulator(settings.safety, raw.get("safety") or {}))
    sim = settings.cluster.simulated
    if sim.scenario is not None and sim.manifests is not None:
        raise ConfigError(
            "cluster.simulated.scenario and cluster.simulated.manifests are both set; keep one "
            f"(scenario={sim.scenario!r}, manifests={str(sim.manifests)!r})"
        )
    if sim.manifests is not None and not sim.manifests.exists():
        raise ConfigError(
            f"cluster.simulated.manifests must name an existing file or folder, got {str(sim.manifests)!r}"
        )
    parts = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)}
    return Config(**parts, path=p, sha256=hashlib.sha256(data).hexdigest())
