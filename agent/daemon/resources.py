"""What a running daemon holds open. ``lifecycle.Service`` opens each of them into an ``ExitStack`` (so
whatever was opened is closed, in reverse order, however the start-up ends) and hands them over as one
record to the loop over slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.audit import AuditJournal, HeadAnchor
from agent.daemon.exports import ExportDrain
from agent.daemon.halt import HaltWatch
from agent.daemon.hands import InterruptibleBackend
from agent.daemon.leadership import Leadership
from agent.daemon.readiness import LastAnswer
from agent.daemon.recovery import Recovery
from agent.findings import FindingStore
from agent.memory import MemoryStore
from envs.cluster import SteadyStateSource
from policies.base import Strategy

if TYPE_CHECKING:  # both load third-party clients: only when the configuration uses them
    from agent.backends.kubernetes.backend import KubernetesBackend
    from agent.prometheus.checks import SteadyStateChecks
    from agent.prometheus.client import PrometheusClient


@dataclass(frozen=True)
class PrometheusLink:
    client: PrometheusClient
    checks: SteadyStateChecks


@dataclass(frozen=True)
class Resources:
    strategy: Strategy
    journal: AuditJournal
    anchor: HeadAnchor
    """Publishes the journal's head where the agent cannot rewrite it (log stream, Kubernetes Events)."""
    store: FindingStore
    memory: MemoryStore
    """The cluster's memory the policy learns from between game days (``memory.sqlite`` beside the findings)."""
    exports: ExportDrain
    watch: HaltWatch
    hands: InterruptibleBackend
    """The cluster backend the loop drives; a halt, a lost lease or a stop cuts its waits short."""
    backend_answered: LastAnswer
    kubernetes: KubernetesBackend | None
    """The real cluster, None on the simulator."""
    simulated_steady: SteadyStateSource | None
    """The simulator's own steady-state signals, None on a real cluster."""
    prometheus: PrometheusLink | None
    leadership: Leadership
    recovery: Recovery
