"""The long-running agent: ``chaos-agent run`` on a real cluster (or ``--serve`` on the simulator).

``Service`` owns the process: it connects the backend, opens the journal, reverts what a previous
process left (its own open intents, and, once leader, every orphan carrying our marks), serves
/healthz, /readyz and /metrics, and loops over the schedule's slots. Each slot is one
``run_game_day`` on a fresh snapshot: a budget of 1 in continuous mode, the session's budget on a game
day. Only the Lease holder injects. It fails closed: Prometheus unreachable, a halt, or an API error
means no injection, a reason on /readyz and in the logs, and a retry with back-off. SIGTERM/SIGINT
stop the loop; every active fault is reverted within ``[agent] revert_timeout_s`` and the exit code
is 0. Nothing the cluster or Prometheus does crashes the loop.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import structlog

from agent.audit import AuditJournal, open_intents
from agent.config import Config
from agent.daemon_hands import Backoff, Interrupted, InterruptibleBackend, build_world
from agent.daemon_slots import SlotTable
from agent.daemon_watch import CombinedKillSwitch, ConfigMapHalt, HaltWatch
from agent.errors import ChaosAgentError, PolicyError
from agent.exporters import ExportQueue, build_exporters
from agent.findings import FindingStore
from agent.loop import InjectionEvent, Supervision, run_game_day
from agent.memory import MemoryStore, memory_path
from agent.prometheus.errors import PrometheusUnavailable
from agent.safety import FileKillSwitch, SafetyGuard
from agent.service.http import AgentMetrics, Readiness, ServiceEndpoints
from agent.service.schedule import Slot
from agent.supervision import recover
from envs.cluster import ClusterBackend
from envs.world import World

log = structlog.get_logger(__name__)
HEARTBEAT_S = 5.0
"""Seconds between two pings of the API server while idle, so /readyz reflects a lost cluster."""


@dataclass(frozen=True)
class ServiceReadiness(Readiness):
    """Readiness plus the reasons the loop itself holds back (Prometheus down, backend not started)."""

    blockers: Any = None
    """``Callable[[], tuple[str, ...]]``: the loop's current reasons not to inject."""

    def problems(self) -> tuple[str, ...]:
        own = tuple(self.blockers()) if self.blockers is not None else ()
        return own + tuple(p for p in super().problems() if p not in own)


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
        self.metrics = AgentMetrics()
        self._blockers: dict[str, str] = {}
        self._backend_ok_at: float | None = None
        self._stop_requested_at: float | None = None
        self.table = SlotTable(config.schedule, seed=config.cluster.simulated.seed, clock=clock,
                               error_budget_minutes=config.safety.error_budget)
        self._slots_run = 0
        self._leading = threading.Event()
        self._swept = False
        self._last_ping = 0.0
        self.kubernetes: Any = None
        self.elector: Any = None
        self._elector_stop = threading.Event()
        self._elector_thread: threading.Thread | None = None
        self.prometheus: Any = None
        self.http: ServiceEndpoints | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or ``stop()``); returns the exit code (0)."""
        self._install_signal_handlers()
        try:
            self._start()
            while not self.stopping.is_set():
                self._tick()
        except Interrupted as e:
            log.info("stopped_during_start_up", reason=str(e))
        finally:
            self._shutdown()
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

    def _start(self) -> None:
        cfg = self.config
        self.journal = AuditJournal.open(cfg.audit.path, config_hash=cfg.sha256, policy_hash=self._policy_hash())
        self.store = FindingStore(cfg.findings.path)
        self.memory = MemoryStore(memory_path(cfg.findings.path))
        self.exports = ExportQueue(self.store, build_exporters(cfg.exporters))
        self.watch = HaltWatch(switch=FileKillSwitch(cfg.safety.halt_file), journal=self.journal,
                               interrupt=self.interrupt, poll_s=cfg.agent.kill_switch_poll_s,
                               faults_active=lambda: bool(self.hands.active),
                               stop_check_every_s=cfg.experiment.sample_every_s)
        self.kill_switch = CombinedKillSwitch(self.watch)
        self._start_http()
        self.hands = InterruptibleBackend(self._connect(), self.interrupt, metrics=self.metrics,
                                          on_answer=self._backend_answered)
        self._connect_prometheus()
        if self.kubernetes is not None:
            from agent.backends.kubernetes.resources import CONFIGMAPS

            cache = self.kubernetes.cache
            self.watch.sources.append(ConfigMapHalt(lambda: cache.objects([CONFIGMAPS]), namespace=self._namespace()))
        self._recover_own()
        self.watch.start()
        self._start_leader_election()
        self.journal.record_note(f"service started: backend {cfg.cluster.backend}, schedule "
                                 f"{cfg.schedule.mode}, dry run {cfg.safety.dry_run}")
        log.info("service_started", backend=cfg.cluster.backend, mode=cfg.schedule.mode,
                 dry_run=cfg.safety.dry_run)

    def _start_http(self) -> None:
        svc = self.config.service
        readiness = ServiceReadiness(
            backend_ok_at=lambda: self._backend_ok_at,
            prometheus_ok_at=self.prometheus.last_ok_at if self.prometheus is not None else None,
            halted=self.watch.halted.is_set, max_age_s=svc.readiness_max_age_s,
            blockers=lambda: tuple(f"{k}: {v}" for k, v in sorted(self._blockers.items())),
        )
        self.http = ServiceEndpoints(metrics=self.metrics, readiness=readiness, host=svc.listen_host,
                                     port=svc.listen_port)
        self.http.start()

    def _connect(self) -> ClusterBackend:
        """The cluster backend, retried with back-off until it answers or the service is stopped."""
        cfg = self.config
        if cfg.cluster.backend == "simulated":
            from agent.worlds import simulated_world

            self.sim_world = simulated_world(cfg)
            self._backend_ok_at = time.monotonic()
            return self.sim_world.backend
        from agent.backends.kubernetes.backend import KubernetesBackend

        backoff = Backoff(cfg.agent.retry_max_s)
        while True:
            try:
                backend = KubernetesBackend.connect(cfg.cluster.kubernetes, stop=self.interrupt)
                backend.start(timeout_s=60.0)
            except ChaosAgentError as e:
                self._block("cluster", f"cannot connect: {e}")
                delay = backoff.next_delay()
                log.warning("backend_connect_failed", error=str(e), retry_in_s=round(delay, 1))
                if self.stopping.wait(delay):
                    raise Interrupted("stopped before the cluster could be reached") from e
                continue
            self._unblock("cluster")
            self._backend_ok_at = time.monotonic()
            self.kubernetes = backend
            return backend

    def _connect_prometheus(self) -> None:
        prom = self.config.prometheus
        if not prom.enabled:
            return
        from agent.prometheus.checks import SteadyStateChecks
        from agent.prometheus.client import PrometheusClient
        from agent.prometheus.retry import RetryPolicy

        self.prometheus = PrometheusClient(url=prom.url, timeout_s=prom.timeout_s, retry=RetryPolicy(
            attempts=prom.retry_attempts, base_s=prom.retry_base_s, max_s=prom.retry_max_s))
        self.checks = SteadyStateChecks(client=self.prometheus, hypotheses=prom.hypotheses,
                                        stop_conditions=prom.stop_conditions)
        if prom.stop_conditions:
            self.watch.stop_conditions = self.checks
        assert self.http is not None  # readiness now also watches Prometheus
        self.http.readiness = dataclasses.replace(self.http.readiness, prometheus_ok_at=self.prometheus.last_ok_at)

    def _start_leader_election(self) -> None:
        if self.kubernetes is None or not self.config.agent.leader_election:
            self._leading.set()
            return
        from agent.backends.kubernetes.leader import LeaderElector

        identity = self.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
        namespace = self._namespace()
        k8s = self.config.cluster.kubernetes
        self.elector = LeaderElector(self.kubernetes.api, namespace=namespace, name=k8s.lease_name,
                                     identity=identity, lease_duration_s=k8s.lease_duration_s)

        def on_change(leading: bool) -> None:
            if leading:
                self._leading.set()
                self._swept = False
                log.info("leading", identity=identity)
            else:
                self._leading.clear()
                self.interrupt.set()  # a fault must not outlive our lease: revert and wait
                log.warning("not_leading", identity=identity)

        self._elector_thread = threading.Thread(target=self.elector.run, args=(self._elector_stop,),
                                                kwargs={"on_change": on_change}, name="leader-election",
                                                daemon=True)
        self._elector_thread.start()
        log.info("campaigning", lease=f"{namespace}/{k8s.lease_name}", identity=identity)

    def _shutdown(self) -> None:
        started = self._stop_requested_at or time.monotonic()
        deadline = started + self.config.agent.revert_timeout_s
        if getattr(self, "hands", None) is not None:
            self._revert_open(deadline)
        self._elector_stop.set()
        if self._elector_thread is not None:
            self._elector_thread.join(5)  # releases the lease, so a standby takes over at once
        if getattr(self, "watch", None) is not None:
            self.watch.stop()
        if getattr(self, "journal", None) is not None:
            left = len(open_intents(self.journal.path))
            self.journal.record_note(f"service stopped; {left} fault(s) left open", status="stopped")
            self.journal.close()
        if getattr(self, "store", None) is not None:
            self.store.close()
        if getattr(self, "memory", None) is not None:
            self.memory.close()
        if self.kubernetes is not None:
            self.kubernetes.close()
        if self.prometheus is not None:
            self.prometheus.close()
        if self.http is not None:
            self.http.stop(2.0)
        log.info("service_stopped", seconds=round(time.monotonic() - started, 2))

    # ---- reverting ---------------------------------------------------------------------------
    def _recover_own(self) -> None:
        """Revert the faults this agent's journal still holds open (a crash or kill -9 before)."""
        backoff = Backoff(self.config.agent.retry_max_s)
        while True:
            try:
                left = recover(self.journal, self.hands.inner)
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                self._block("recovery", f"cannot revert faults a previous run left open: {e}")
                log.error("recovery_failed", error=str(e), retry_in_s=round(delay, 1))
                if self.stopping.wait(delay):
                    return
                continue
            self._unblock("recovery")
            if left:
                log.warning("recovered", reverted=left)
            self.hands.forget_all()
            return

    def _revert_open(self, deadline: float) -> None:
        """Revert every open intent, retrying until ``deadline`` (the SIGTERM bound)."""
        backoff = Backoff(min(5.0, self.config.agent.retry_max_s), base_s=0.2)
        while True:
            try:
                left = recover(self.journal, self.hands.inner)
                self.hands.forget_all()
                if left:
                    log.info("reverted_on_stop", reverted=left)
                if self._leading.is_set():
                    self._sweep_orphans()  # a half-applied fault that could not be reverted at the time
                return
            except ChaosAgentError as e:
                delay = backoff.next_delay()
                if time.monotonic() + delay > deadline:
                    log.error("revert_timeout", error=str(e), open=[i.injection_id for i in
                                                                    open_intents(self.journal.path)])
                    return
                log.warning("revert_failed", error=str(e), retry_in_s=round(delay, 1))
                time.sleep(delay)

    def _sweep_orphans(self) -> bool:
        """Once leader, and again whenever the backend left a half-applied fault it could not revert:
        revert every fault of ours in the cluster that no open injection owns."""
        if self._swept and not (self.kubernetes is not None and self.kubernetes.orphans_left):
            return True
        if self.kubernetes is not None:
            owned = [i.injection_id for i in open_intents(self.journal.path)]
            reverted = self.kubernetes.revert_orphans(owned)
            if reverted:
                log.warning("orphans_reverted", marks=reverted)
                when = "sweep" if self._swept else "start-up sweep"
                self.journal.record_note(f"{when} reverted {len(reverted)} orphaned fault(s): "
                                         + ", ".join(reverted), status="reverted")
        self._swept = True
        return True

    # ---- the loop ----------------------------------------------------------------------------
    def _tick(self) -> None:
        poll = self.config.agent.kill_switch_poll_s
        self._heartbeat()
        if self.watch.halted.is_set():
            self._block("halted", self.watch.reason or "kill switch")
            self.stopping.wait(poll)
            return
        self._unblock("halted")
        if not self._leading.is_set():
            self.stopping.wait(poll)  # standby: ready, waiting for the lease
            return
        self._clear_interrupt()
        try:
            self._sweep_orphans()
            self._unblock("sweep")
        except ChaosAgentError as e:
            self._block("sweep", f"start-up sweep failed: {e}")
            self._pause(e, "sweep")
            return
        slot = self._due_slot()
        if slot is None:
            return
        if not self._preflight():
            return
        self._run_slot(slot)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.kubernetes is None or now - self._last_ping < HEARTBEAT_S:
            return
        self._last_ping = now
        try:
            self.kubernetes.api.server_version()
        except ChaosAgentError as e:
            log.warning("api_server_unreachable", error=str(e))
            return
        self._backend_answered()

    def _clear_interrupt(self) -> None:
        if not (self.stopping.is_set() or self.watch.halted.is_set() or not self._leading.is_set()):
            self.interrupt.clear()

    def _due_slot(self) -> Slot | None:
        """The pending slot once it is due; waits (a poll at most) while it is not."""
        had = self.table.pending
        try:
            slot, wait_s = self.table.due()
        except ChaosAgentError as e:  # ScheduleError: nothing allowed within a year
            self._block("schedule", str(e))
            self.stopping.wait(60)
            return None
        if wait_s == float("inf"):
            self._block("schedule", "no game day is scheduled any more")
            self.stopping.wait(60)
            return None
        self._unblock("schedule")
        pending = self.table.pending
        if pending is not None and pending is not had:
            log.info("next_slot", at=pending.at.isoformat(), game_day=pending.session.name if pending.session else None)
        if slot is None:
            self.stopping.wait(min(wait_s, self.config.agent.kill_switch_poll_s))
        return slot

    def _preflight(self) -> bool:
        """Fail closed: no injection unless Prometheus answers and no stop condition fires."""
        if self.prometheus is None:
            return True
        try:
            report = self.checks.check("before", kinds=("stop_condition",))
            world = self._world()  # the steady state and anomaly scores must be readable too
            world.steady.sample()
            world.anomaly_scores()
        except PrometheusUnavailable as e:
            self._block("prometheus", f"unavailable, not injecting: {e}")
            self._pause(e, "prometheus")
            return False
        except ChaosAgentError as e:
            self._pause(e, "cluster")
            return False
        fired = report.fired_stop_conditions
        if fired:
            self._block("stop_conditions", "firing, not injecting: " + "; ".join(r.name for r in fired))
            self.stopping.wait(self.config.experiment.sample_every_s)
            return False
        self._unblock("prometheus")
        self._unblock("stop_conditions")
        self._backoff().reset()
        return True

    def _world(self) -> World:
        """A fresh snapshot's topology with this run's steady state and anomaly sources."""
        sim_steady = self.sim_world.steady if self.config.cluster.backend == "simulated" else None
        return build_world(self.hands, config=self.config, prometheus=self.prometheus, metrics=self.metrics,
                           simulated_steady=sim_steady)

    def _run_slot(self, slot: Slot) -> None:
        budget = self.table.take(slot)
        self.slots.append(slot)
        session = slot.session
        if budget <= 0:
            return
        self._slots_run += 1
        cfg = self.config
        seed = (cfg.cluster.simulated.seed * 1_000_003 + self._slots_run + uuid.uuid4().int) % 2**31
        slot_config = dataclasses.replace(cfg, cluster=dataclasses.replace(
            cfg.cluster, simulated=dataclasses.replace(cfg.cluster.simulated, seed=seed)))
        guard = SafetyGuard(cfg.safety, agent_namespace=cfg.agent.namespace, budget=self.table.error_budget(slot),
                            kill_switch=self.kill_switch)

        def on_event(event: InjectionEvent) -> None:
            if event.result is not None:
                self.table.spend(slot)
            self.metrics.decision_seconds.observe(event.decision_ms / 1000)
            for f in event.new_findings:
                self.metrics.record_finding(violation=f.violation)
            log.info("injection_done", index=event.index, action=event.action, outcome=event.outcome,
                     findings=[f.id for f in event.new_findings])

        def should_stop() -> bool:
            return (self.stopping.is_set() or self.watch.halted.is_set() or not self._leading.is_set()
                    or self.table.ended(slot))

        log.info("slot_started", budget=budget, game_day=session.name if session else None)
        kind = next((g.kind for g in cfg.schedule.game_days if session and g.name == session.name), "game_day")
        try:
            world = self._world()
            if kind == "retest":
                self._retest(world, slot, slot_config, guard, budget, should_stop)
                return
            result = run_game_day(world=world, strategy=self._strategy(), config=slot_config,
                                  max_injections=budget, on_event=on_event, should_stop=should_stop,
                                  supervision=Supervision(guard=guard, journal=self.journal, store=self.store,
                                                          memory=self.memory))
        except Interrupted as e:
            log.info("slot_interrupted", reason=str(e))
            self._after_failed_slot()
            return
        except PrometheusUnavailable as e:
            self._block("prometheus", f"unavailable, not injecting: {e}")
            self._after_failed_slot()
            self._pause(e, "prometheus")
            return
        except ChaosAgentError as e:
            self._after_failed_slot()
            self._pause(e, "slot")
            return
        self._backoff().reset()
        log.info("slot_finished", injections=result.injections, findings=len(result.findings),
                 stopped=result.stopped or None)
        self._export(list(result.findings.values()), world)

    def _after_failed_slot(self) -> None:
        """run_game_day reverts on the way out; what a failed revert left open is retried from the journal."""
        if open_intents(self.journal.path):
            self._revert_open(time.monotonic() + self.config.agent.revert_timeout_s)

    def _retest(self, world: World, slot: Slot, config: Config, guard: SafetyGuard, budget: int,
                should_stop: Any) -> None:
        """A retest session: re-run what reproduced each weakness; tickets are resolved, reopened or commented."""
        from agent.weaknesses.retest import retest
        from agent.weaknesses.session import send_tickets
        from agent.weaknesses.store import WeaknessStore
        from agent.weaknesses.tickets import ticket_exporters

        exporters = ticket_exporters(self.exports.exporters)
        with WeaknessStore(config.findings.path) as store:
            report = retest(world=world, config=config, findings=self.store, weaknesses=store,
                            supervision=Supervision(guard=guard, journal=self.journal, store=self.store),
                            exporters=exporters, max_injections=budget, should_stop=should_stop)
            for _ in range(min(report.injections, budget)):
                self.table.spend(slot)
            sent = send_tickets(store, self.store, exporters, self.clock()) if exporters else None
        self._backoff().reset()
        log.info("retest_finished", injections=report.injections, stopped=report.stopped or None,
                 resolved=[o.weakness for o in report.outcomes if o.status == "resolved"],
                 reproduced=[o.weakness for o in report.outcomes if o.reproduced],
                 tickets_sent=sent.sent if sent else 0)

    def _export(self, findings: list[Any], world: World) -> None:
        if self.config.weaknesses.tickets == "weakness":
            from agent.weaknesses.session import after_game_day

            try:
                weak = after_game_day(spec=world.spec, config=self.config, findings=self.store, run_findings=findings,
                                      exporters=self.exports.exporters, now=self.clock())
            except ChaosAgentError as e:
                log.warning("weaknesses_failed", error=str(e))
                return
            sent = weak.tickets
            log.info("weaknesses_recorded", shown=[r.id for r in weak.shown], impacts=len(weak.impacts),
                     tickets_sent=sent.sent if sent else 0, tickets_failed=sent.failed if sent else 0)
            return
        if not self.exports.exporters:
            return
        now = self.clock()
        try:
            for finding in findings:
                for name in self.exports.exporters:
                    self.store.enqueue(finding.signature, name, now)
            report = self.exports.drain_queue(now)
        except ChaosAgentError as e:
            log.warning("export_drain_failed", error=str(e))
            return
        log.info("exports_drained", sent=report.sent, failed=report.failed, parked=report.parked)

    # ---- helpers -----------------------------------------------------------------------------
    def _strategy(self) -> Any:
        if not hasattr(self, "_strategy_obj"):
            from policies.registry import make_strategy
            from policies.runtime import PolicyFileError

            try:
                self._strategy_obj = make_strategy(self.config.policy.strategy, policy_dir=self.config.policy.path,
                                                   adapt=self.config.policy.adapt)
            except PolicyFileError as e:
                raise PolicyError(f"policy.path: {e}") from e
        return self._strategy_obj

    def _policy_hash(self) -> str:
        strategy = self._strategy()
        return str(getattr(strategy, "sha256", "") or f"strategy:{getattr(strategy, 'name', '?')}")

    def _backoff(self) -> Backoff:
        if not hasattr(self, "_backoff_obj"):
            self._backoff_obj = Backoff(self.config.agent.retry_max_s)
        return self._backoff_obj

    def _pause(self, error: BaseException, what: str) -> None:
        delay = self._backoff().next_delay()
        log.warning("retrying_after_error", what=what, error=str(error)[:500], retry_in_s=round(delay, 2))
        self.stopping.wait(delay)

    def _block(self, key: str, reason: str) -> None:
        if self._blockers.get(key) != reason:
            log.warning("not_injecting", why=key, reason=reason)
        self._blockers[key] = reason

    def _unblock(self, key: str) -> None:
        self._blockers.pop(key, None)

    def _namespace(self) -> str:
        """Where the Lease and the halt ConfigMap live: the pod's namespace, else [agent] namespace."""
        return self.environ.get("POD_NAMESPACE") or self.config.agent.namespace

    def _backend_answered(self) -> None:
        self._backend_ok_at = time.monotonic()


def serve(config: Config) -> int:
    """``chaos-agent run`` as a service; returns the exit code."""
    return Service(config).run()
