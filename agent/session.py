"""What ``chaos-agent run`` needs around the loop on the simulator, built one way for ``run`` and ``config check``.

``prepare(config)`` builds everything that can fail before the first injection (the audit key, the
exporters with their secrets, the policy, the simulated cluster from its manifests), so a config that
``config check`` passes does not fail at ``run``. ``export_findings`` sends a run's findings through the
configured exporters at its end, as the daemon does after each slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from agent.audit import Sealer, load_sealer
from agent.config import Config
from agent.errors import PolicyError
from agent.exporters import ExportQueue, build_exporters
from agent.exporters.base import Exporter
from agent.exporters.queue import DrainReport
from agent.findings import Finding, FindingStore
from envs.cluster_under_test import World
from policies.base import Strategy


@dataclass(frozen=True)
class Prepared:
    strategy: Strategy
    exporters: Mapping[str, Exporter]
    sealer: Sealer
    world: World | None
    """The simulated cluster; None on the kubernetes backend, which the daemon reaches when it starts."""

    def checked(self) -> str:
        """What was built, for ``config check``."""
        parts = [f"policy {self.strategy.name}", "audit key " + (self.sealer.key_id or "none (unkeyed journal)")]
        parts.append("exporters " + (", ".join(self.exporters) or "none"))
        if self.world is not None:
            parts.append(f"cluster {self.world.spec.name} ({len(self.world.spec.workloads)} workloads, "
                         f"{len(self.world.spec.nodes)} nodes)")
        return "; ".join(parts)


def load_strategy(config: Config, name: str | None = None) -> Strategy:
    from policies.registry import make_strategy
    from policies.runtime import PolicyFileError

    try:
        return make_strategy(name or config.policy.strategy, policy_dir=config.policy.path,
                             adapt=config.policy.adapt)
    except PolicyFileError as e:
        raise PolicyError(f"policy.path: {e}") from e


def prepare(config: Config, *, environ: Mapping[str, str] | None = None) -> Prepared:
    """Everything ``run`` builds before its first injection; raises the ``ChaosAgentError`` it would."""
    from agent.embedded_cluster import simulated_world

    sealer = load_sealer(config.audit.key_file)
    exporters = build_exporters(config.exporters, environ=environ)
    strategy = load_strategy(config)
    world = simulated_world(config) if config.cluster.backend == "simulated" else None
    return Prepared(strategy=strategy, exporters=exporters, sealer=sealer, world=world)


def export_findings(store: FindingStore, exporters: Mapping[str, Exporter], findings: Iterable[Finding],
                    config: Config, now: datetime) -> DrainReport:
    """Queue each finding for every exporter and send what is due; a failure stays queued for the next run."""
    for finding in findings:
        for name in exporters:
            store.enqueue(finding.signature, name, now)
    queue = ExportQueue(store, exporters, max_attempts=config.exporters.queue_max_attempts,
                        backoff_s=config.exporters.queue_backoff_s)
    return queue.drain_queue(now)
