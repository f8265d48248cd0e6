"""The daemon's life: start, serve slots until told to stop, stop within the revert bound.

``Service.run`` opens every resource into an ``ExitStack``: the journal, the findings store, the HTTP
endpoints (/readyz says why the agent is not ready while the rest starts), the cluster backend
(retried with back-off until it answers), Prometheus, the lease. It reverts what a previous process
left, then loops over the schedule's slots (``slots.SlotLoop``). SIGTERM/SIGINT stop the loop; on the
way out the stack reverts every active fault within ``[agent] revert_timeout_s``, gives the lease up
and closes the rest in reverse order; the exit code is 0.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

import structlog

from agent.audit import AuditJournal, HeadAnchor, open_intents
from agent.backoff import Backoff, Retries
from agent.config import Config
from agent.daemon.exports import ExportDrain
from agent.daemon.failures import FailureLog
from agent.daemon.halt import ConfigMapHalt, HaltWatch
from agent.daemon.hands import Interrupted, InterruptibleBackend
from agent.daemon.leadership import Leadership
from agent.daemon.readiness import Blockers, LastAnswer, Readiness
from agent.daemon.recovery import Recovery
from agent.daemon.resources import PrometheusLink, Resources
from agent.daemon.schedule import Slot
from agent.daemon.slots import SlotLoop, SlotTable
from agent.errors import AuditError, ChaosAgentError, PolicyError
from agent.exporters import ExportQueue
from agent.findings import FindingStore
from agent.memory import MemoryStore, memory_path
from agent.safety import FileKillSwitch
from agent.service.http import AgentMetrics, ServiceEndpoints
from envs.cluster import ClusterBackend, SteadyStateSource
from policies.base import Strategy

if TYPE_CHECKING:  # the backend module loads the Kubernetes client: only on a cluster
    from agent.backends.kubernetes.backend import KubernetesBackend

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Cluster:
    """The connected cluster backend: the simulator (with its own steady state) or a real cluster."""

    backend: ClusterBackend
    kubernetes: KubernetesBackend | None
    simulated_steady: SteadyStateSource | None


class Service:
    def __init__(self, config: Config, *, environ: dict[str, str] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.clock = clock
        """Wall-clock time of the schedule (a test passes a fast one)."""
        self.slots: list[Slot] = []
        """Every slot started, in order."""
        self.environ = dict(os.environ if environ is None else environ)
        self.stopping = threading.Event()
        self.interrupt = threading.Event()
        """Set by a halt, a lost lease or a stop: the running experiment's next wait raises ``Interrupted``."""
        self.metrics = AgentMetrics()
        self.blockers = Blockers()
        self.failures = FailureLog()
        self.table = SlotTable(config.schedule, seed=config.cluster.simulated.seed, clock=clock,
                               error_budget_minutes=config.safety.error_budget)
        self._stop_requested_at: float | None = None

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or ``stop()``); returns the exit code (0)."""
        self._install_signal_handlers()
        started = time.monotonic()
        with ExitStack() as stack:
            try:
                resources = self._open(stack)
            except Interrupted as e:
                log.info("stopped_during_start_up", reason=str(e))
            else:
                loop = SlotLoop(self.config, resources, table=self.table, metrics=self.metrics,
                                blockers=self.blockers, stopping=self.stopping, interrupt=self.interrupt,
                                started=self.slots)
                while not self.stopping.is_set():
                    loop.tick()
            started = self._stop_requested_at or time.monotonic()
        log.info("service_stopped", seconds=round(time.monotonic() - started, 2))
        return 0

    def stop(self, why: str = "stop requested") -> None:
        if not self.stopping.is_set():
            log.info("stopping", reason=why)
            self._stop_requested_at = time.monotonic()
        self.stopping.set()
        self.interrupt.set()

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            self.stop(f"signal {signal.Signals(signum).name}")

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    # ---- start-up: each resource is closed by the stack, in reverse order ----------------------
    def _open(self, stack: ExitStack) -> Resources:
        cfg = self.config
        strategy = self._strategy()
        journal = AuditJournal.from_settings(cfg.audit, config_hash=cfg.sha256, policy_hash=_policy_hash(strategy))
        anchor = HeadAnchor(journal, every_s=cfg.audit.anchor_every_s)
        stack.callback(self._close_journal, journal, anchor, self.failures)
        store = stack.enter_context(FindingStore(cfg.findings.path))
        memory = stack.enter_context(MemoryStore(memory_path(cfg.findings.path)))
        exports = ExportDrain(ExportQueue.from_settings(store, cfg.exporters, environ=self.environ),
                              every_s=cfg.findings.drain_every_s, clock=self.clock, config=cfg)
        prometheus = self._prometheus(stack)
        watch = HaltWatch(switch=FileKillSwitch(cfg.safety.halt_file), journal=journal, interrupt=self.interrupt,
                          poll_s=cfg.agent.kill_switch_poll_s, stop_check_every_s=cfg.experiment.sample_every_s,
                          stop_conditions=prometheus.checks if prometheus and cfg.prometheus.stop_conditions else None)
        backend_answered = LastAnswer()
        http = ServiceEndpoints(metrics=self.metrics, host=cfg.service.listen_host, port=cfg.service.listen_port,
                                readiness=Readiness(
                                    backend_ok_at=backend_answered,
                                    prometheus_ok_at=prometheus.client.last_ok_at if prometheus else None,
                                    halt_reason=watch.halt_reason, blockers=self.blockers.reasons,
                                    max_age_s=cfg.service.readiness_max_age_s))
        http.start()
        stack.callback(http.stop, 2.0)

        cluster = self._connect(stack)
        backend_answered.seen()
        kubernetes = cluster.kubernetes
        leadership = Leadership(interrupt=self.interrupt)
        stack.callback(leadership.release)  # after the last revert (callbacks run in reverse order)
        hands = InterruptibleBackend(cluster.backend, self.interrupt, metrics=self.metrics,
                                     on_answer=backend_answered.seen)
        recovery = Recovery(journal=journal, hands=hands, sweeper=kubernetes, blockers=self.blockers,
                            stopping=self.stopping, leading=leadership.is_leading, retry_max_s=cfg.agent.retry_max_s,
                            failures=self.failures)
        leadership.on_elected = recovery.sweep_again
        stack.callback(self._revert_on_stop, recovery)
        if kubernetes is not None:
            from agent.backends.kubernetes.resources import CONFIGMAPS

            cache = kubernetes.cache
            watch.sources.append(ConfigMapHalt(lambda: cache.objects([CONFIGMAPS]), namespace=self._namespace()))
        watch.faults_active = lambda: bool(hands.active)
        recovery.recover_own()
        if kubernetes is not None:
            from agent.backends.kubernetes.events import audit_head_event_sink

            anchor.sinks.append(audit_head_event_sink(kubernetes.api, namespace=self._namespace(),
                                                      pod=self.environ.get("POD_NAME"),
                                                      lease=cfg.cluster.kubernetes.lease_name))
        watch.start()
        stack.callback(watch.stop)
        self._campaign(leadership, kubernetes)
        exports.start()
        stack.callback(exports.stop)
        journal.record_note(f"service started: backend {cfg.cluster.backend}, schedule "
                            f"{cfg.schedule.mode}, dry run {cfg.safety.dry_run}")
        log.info("service_started", backend=cfg.cluster.backend, mode=cfg.schedule.mode, dry_run=cfg.safety.dry_run)
        return Resources(strategy=strategy, journal=journal, anchor=anchor, store=store, memory=memory,
                         exports=exports,
                         watch=watch, hands=hands, backend_answered=backend_answered, kubernetes=kubernetes,
                         simulated_steady=cluster.simulated_steady,
                         prometheus=prometheus, leadership=leadership, recovery=recovery)

    def _strategy(self) -> Strategy:
        from policies.registry import make_strategy
        from policies.runtime import PolicyFileError

        try:
            return make_strategy(self.config.policy.strategy, policy_dir=self.config.policy.path,
                                 adapt=self.config.policy.adapt)
        except PolicyFileError as e:
            raise PolicyError(f"policy.path: {e}") from e

    def _prometheus(self, stack: ExitStack) -> PrometheusLink | None:
        prom = self.config.prometheus
        if not prom.enabled:
            return None
        from agent.prometheus.checks import SteadyStateChecks
        from agent.prometheus.client import PrometheusClient
        from agent.prometheus.retry import RetryPolicy

        client = PrometheusClient(url=prom.url, timeout_s=prom.timeout_s, retry=RetryPolicy(
            attempts=prom.retry_attempts, base_s=prom.retry_base_s, max_s=prom.retry_max_s))
        stack.callback(client.close)
        return PrometheusLink(client, SteadyStateChecks(client=client, hypotheses=prom.hypotheses,
                                                        stop_conditions=prom.stop_conditions))

    def _connect(self, stack: ExitStack) -> Cluster:
        """The cluster backend, retried with back-off until it answers or the service is stopped."""
        cfg = self.config
        if cfg.cluster.backend == "simulated":
            from agent.embedded_cluster import simulated_world

            world = simulated_world(cfg)
            return Cluster(world.backend, kubernetes=None, simulated_steady=world.steady)
        from agent.backends.kubernetes.backend import KubernetesBackend

        backoff = Retries(Backoff(1.0, cfg.agent.retry_max_s, jitter="equal"))
        while True:
            try:
                backend = KubernetesBackend.connect(cfg.cluster.kubernetes, stop=self.interrupt,
                                                    own_namespace=self._namespace())
                try:
                    backend.start(timeout_s=60.0)
                except BaseException:
                    backend.close()
                    raise
            except ChaosAgentError as e:
                self.blockers.block("cluster", f"cannot connect: {e}")
                delay = backoff.next_delay()
                log.warning("backend_connect_failed", error=str(e), retry_in_s=round(delay, 1))
                if self.stopping.wait(delay):
                    raise Interrupted("stopped before the cluster could be reached") from e
                continue
            self.blockers.unblock("cluster")
            stack.callback(backend.close)
            return Cluster(backend, kubernetes=backend, simulated_steady=None)

    def _campaign(self, leadership: Leadership, kubernetes: KubernetesBackend | None) -> None:
        if kubernetes is None or not self.config.agent.leader_election:
            leadership.lead_alone()
            return
        k8s = self.config.cluster.kubernetes
        identity = self.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
        leadership.campaign(kubernetes.api, namespace=self._namespace(), name=k8s.lease_name, identity=identity,
                            lease_duration_s=k8s.lease_duration_s, renew_deadline_s=k8s.lease_renew_deadline_s,
                            retry_period_s=k8s.lease_retry_period_s)

    # ---- stopping ----------------------------------------------------------------------------
    def _revert_on_stop(self, recovery: Recovery) -> None:
        started = self._stop_requested_at or time.monotonic()
        recovery.revert_open(started + self.config.agent.revert_timeout_s)

    @staticmethod
    def _close_journal(journal: AuditJournal, anchor: HeadAnchor, failures: FailureLog) -> None:
        left = len(open_intents(journal.path))
        try:
            journal.record_note(f"service stopped; {left} fault(s) left open", status="stopped")
            anchor.publish()  # the final head, so a verifier can check the whole trail against it
        except AuditError as e:
            failures.once("journal_write_failed", e)
        finally:
            journal.close()

    def _namespace(self) -> str:
        """Where the Lease and the halt ConfigMap live: the pod's namespace, else [agent] namespace."""
        return self.environ.get("POD_NAMESPACE") or self.config.agent.namespace


def _policy_hash(strategy: Strategy) -> str:
    """The exported policy's weights hash, else the strategy's name (a baseline has no file to hash)."""
    return str(getattr(strategy, "sha256", "") or f"strategy:{strategy.name}")


def serve(config: Config) -> int:
    """``chaos-agent run`` as a service; returns the exit code."""
    return Service(config).run()
