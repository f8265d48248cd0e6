"""The daemon's loop over slots, and its timetable: which slot comes next, how many injections it may
make, and its error budget.

``SlotLoop.tick`` is one turn of the loop: not while halted, only as leader, after the sweep, when the
slot is due, after a preflight that fails closed (Prometheus unreachable or a stop condition firing
means no injection); then one ``run_game_day`` on a fresh snapshot. Nothing the cluster or Prometheus
does ends the loop: an error is a reason on /readyz, a log line, and a retry with back-off.

Continuous mode: one slot per draw of ``InjectionPlanner.next_slot`` (exponential gaps of business
time), one injection each. Game days: a session open now with budget left is a slot at once, run as
one game day with the budget that is left; otherwise the planner says when the next session starts.
A drawn slot is kept until it is due (a redraw on every poll would bias the gaps short).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime

import structlog

from agent.audit import open_intents
from agent.backoff import Backoff, Retries
from agent.config import Config
from agent.config.schedule import ScheduleSettings
from agent.daemon.halt import CombinedKillSwitch
from agent.daemon.hands import Interrupted
from agent.daemon.observation import build_world
from agent.daemon.readiness import Blockers
from agent.daemon.resources import Resources
from agent.daemon.schedule import InjectionPlanner, Slot, active_game_day
from agent.errors import AuditError, ChaosAgentError
from agent.findings import Finding
from agent.loop import InjectionEvent, Supervision, run_game_day
from agent.prometheus.errors import PrometheusUnavailable
from agent.safety import ErrorBudget, SafetyGuard
from agent.service.http import AgentMetrics
from agent.twin.calibration import CalibrationStore, GameDayCalibration, calibration_path, cluster_name
from envs.cluster_under_test import World

log = structlog.get_logger(__name__)
HEARTBEAT_S = 5.0
"""Seconds between two pings of the API server while idle, so /readyz reflects a lost cluster."""


def game_day_calibration(config: Config) -> GameDayCalibration | None:
    """What a slot's game day calibrates: real game days calibrate the twin of the cluster
    (agent/twin/calibration.py); simulated ones do not."""
    if config.cluster.backend != "kubernetes":
        return None
    return GameDayCalibration(CalibrationStore(calibration_path(config)), cluster_name(config))


class SlotTable:
    def __init__(self, settings: ScheduleSettings, *, seed: int, clock: Callable[[], datetime],
                 error_budget_minutes: float) -> None:
        self.planner = InjectionPlanner(settings, seed=seed)
        self.clock = clock
        self.error_budget_minutes = error_budget_minutes
        self.pending: Slot | None = None
        self._spent: dict[tuple[str, datetime], int] = {}
        self._budgets: dict[object, ErrorBudget] = {}

    def due(self) -> tuple[Slot | None, float]:
        """(the slot when it is due, else None; seconds until it is). Raises ScheduleError when the
        schedule allows nothing within a year, and returns (None, inf) when no game day is left."""
        now = self.clock()
        if self.pending is None:
            planner = self.planner
            if planner.mode == "game_days" and planner.allowed_now(now):
                self.pending = Slot(now, active_game_day(now, planner.table))
            else:
                self.pending = planner.next_slot(now)
            if self.pending is None:
                return None, float("inf")
        wait_s = (self.pending.at - now).total_seconds()
        if wait_s > 0:
            return None, wait_s
        slot = self.pending
        if not self.planner.allowed_now(now):  # the window closed while we waited (a halt, a standby)
            self.pending = None
            return None, 0.0
        return slot, 0.0

    def take(self, slot: Slot) -> int:
        """Start ``slot``: the injections it may make (1 in continuous mode)."""
        self.pending = None
        if slot.session is None:
            return 1
        return slot.session.budget - self._spent.get((slot.session.name, slot.session.start), 0)

    def spend(self, slot: Slot) -> None:
        if slot.session is not None:
            key = (slot.session.name, slot.session.start)
            self._spent[key] = self._spent.get(key, 0) + 1
            self.planner.record(slot)

    def ended(self, slot: Slot) -> bool:
        return slot.session is not None and self.clock() >= slot.session.end

    def error_budget(self, slot: Slot) -> ErrorBudget:
        """One error budget per game-day session, or per local day in continuous mode."""
        key: object = ((slot.session.name, slot.session.start) if slot.session is not None
                       else slot.at.astimezone(self.planner.table.zone).date())
        if key not in self._budgets:
            self._budgets = {k: v for k, v in self._budgets.items() if not isinstance(k, date) or k == key}
            self._budgets[key] = ErrorBudget(self.error_budget_minutes)
        return self._budgets[key]


class SlotLoop:
    def __init__(self, config: Config, resources: Resources, *, table: SlotTable, metrics: AgentMetrics,
                 blockers: Blockers, stopping: threading.Event, interrupt: threading.Event,
                 started: list[Slot]) -> None:
        self.config = config
        self.res = resources
        self.table = table
        self.metrics = metrics
        self.blockers = blockers
        self.stopping = stopping
        self.interrupt = interrupt
        self.started = started
        """Every slot started, in order."""
        self.kill_switch = CombinedKillSwitch(resources.watch)
        self.backoff = Retries(Backoff(1.0, config.agent.retry_max_s, jitter="equal"))
        self._slots_run = 0
        self._last_ping = 0.0

    def tick(self) -> None:
        poll = self.config.agent.kill_switch_poll_s
        self._heartbeat()
        self.res.anchor.tick()
        if self.res.watch.halted.is_set():  # /readyz reads the reason from the watch itself
            self.stopping.wait(poll)
            return
        if not self.res.leadership.is_leading():
            self.stopping.wait(poll)  # standby: ready, waiting for the lease
            return
        self._clear_interrupt()
        try:
            self.res.recovery.sweep_orphans()
            self.blockers.unblock("sweep")
        except ChaosAgentError as e:
            self.blockers.block("sweep", f"start-up sweep failed: {e}")
            self.pause(e, "sweep")
            return
        slot = self._due_slot()
        if slot is None:
            return
        if not self._preflight():
            return
        self._run_slot(slot)

    def pause(self, error: BaseException, what: str) -> None:
        delay = self.backoff.next_delay()
        log.warning("retrying_after_error", what=what, error=str(error)[:500], retry_in_s=round(delay, 2))
        self.stopping.wait(delay)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        kubernetes = self.res.kubernetes
        if kubernetes is None or now - self._last_ping < HEARTBEAT_S:
            return
        self._last_ping = now
        try:
            kubernetes.api.server_version()
        except ChaosAgentError as e:
            log.warning("api_server_unreachable", error=str(e))
            return
        self.res.backend_answered.seen()

    def _clear_interrupt(self) -> None:
        if not (self.stopping.is_set() or self.res.watch.halted.is_set() or not self.res.leadership.is_leading()):
            self.interrupt.clear()

    def _due_slot(self) -> Slot | None:
        """The pending slot once it is due; waits (a poll at most) while it is not."""
        had = self.table.pending
        try:
            slot, wait_s = self.table.due()
        except ChaosAgentError as e:  # ScheduleError: nothing allowed within a year
            self.blockers.block("schedule", str(e))
            self.stopping.wait(60)
            return None
        if wait_s == float("inf"):
            self.blockers.block("schedule", "no game day is scheduled any more")
            self.stopping.wait(60)
            return None
        self.blockers.unblock("schedule")
        pending = self.table.pending
        if pending is not None and pending is not had:
            log.info("next_slot", at=pending.at.isoformat(), game_day=pending.session.name if pending.session else None)
        if slot is None:
            self.stopping.wait(min(wait_s, self.config.agent.kill_switch_poll_s))
        return slot

    def _preflight(self) -> bool:
        """Fail closed: no injection unless Prometheus answers and no stop condition fires."""
        prometheus = self.res.prometheus
        if prometheus is None:
            return True
        try:
            report = prometheus.checks.check("before", kinds=("stop_condition",))
            world = self._world()  # the steady state and anomaly scores must be readable too
            world.steady.sample()
            world.anomaly_scores()
        except PrometheusUnavailable as e:
            self.blockers.block("prometheus", f"unavailable, not injecting: {e}")
            self.pause(e, "prometheus")
            return False
        except ChaosAgentError as e:
            self.pause(e, "cluster")
            return False
        fired = report.fired_stop_conditions
        if fired:
            self.blockers.block("stop_conditions", "firing, not injecting: " + "; ".join(r.name for r in fired))
            self.stopping.wait(self.config.experiment.sample_every_s)
            return False
        self.blockers.unblock("prometheus")
        self.blockers.unblock("stop_conditions")
        self.backoff.reset()
        return True

    def _world(self) -> World:
        """A fresh snapshot's topology with this run's steady state and anomaly sources."""
        prometheus = self.res.prometheus
        return build_world(self.res.hands, config=self.config, metrics=self.metrics,
                           prometheus=prometheus.client if prometheus is not None else None,
                           simulated_steady=self.res.simulated_steady)

    def _run_slot(self, slot: Slot) -> None:
        budget = self.table.take(slot)
        self.started.append(slot)
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

        found: list[Finding] = []
        calibration = game_day_calibration(self.config)

        def on_event(event: InjectionEvent) -> None:
            found.extend(event.new_findings)
            if event.result is not None:
                self.table.spend(slot)
                if calibration is not None:
                    calibration.finished(event.result, world.spec)
            self.metrics.decision_seconds.observe(event.decision_ms / 1000)
            for f in event.new_findings:
                self.metrics.record_finding(violation=f.violation)
            log.info("injection_done", index=event.index, action=event.action, outcome=event.outcome,
                     findings=[f.id for f in event.new_findings])

        def should_stop() -> bool:
            return (self.stopping.is_set() or self.res.watch.halted.is_set() or not self.res.leadership.is_leading()
                    or self.table.ended(slot))

        log.info("slot_started", budget=budget, game_day=session.name if session else None)
        kind = next((g.kind for g in cfg.schedule.game_days if session and g.name == session.name), "game_day")
        try:
            world = self._world() if calibration is None else calibration.watch(self._world())
            if kind == "retest":
                self._retest(world, slot, slot_config, guard, budget, should_stop)
                return
            result = run_game_day(world=world, strategy=self.res.strategy, config=slot_config,
                                  max_injections=budget, on_event=on_event, should_stop=should_stop,
                                  supervision=Supervision(guard=guard, journal=self.res.journal, store=self.res.store,
                                                          memory=self.res.memory))
        except Interrupted as e:
            log.info("slot_interrupted", reason=str(e))
            self._after_failed_slot(found)
            return
        except PrometheusUnavailable as e:
            self.blockers.block("prometheus", f"unavailable, not injecting: {e}")
            self._after_failed_slot(found)
            self.pause(e, "prometheus")
            return
        except AuditError as e:  # no intent, no injection: fail closed until the journal can be written
            self.blockers.block("journal", f"cannot write the audit journal, not injecting: {e}")
            self._after_failed_slot(found)
            self.stopping.wait(self.backoff.next_delay())
            return
        except ChaosAgentError as e:
            self._after_failed_slot(found)
            self.pause(e, "slot")
            return
        self.backoff.reset()
        self.blockers.unblock("journal")
        log.info("slot_finished", injections=result.injections, findings=len(result.findings),
                 stopped=result.stopped or None)
        self.res.exports.queue_findings(result.findings.values())
        self.res.exports.record_weaknesses(world.spec, result.findings.values())

    def _retest(self, world: World, slot: Slot, config: Config, guard: SafetyGuard, budget: int,
                should_stop: Callable[[], bool]) -> None:
        """A retest session: re-run what reproduced each weakness; tickets are resolved, reopened or commented."""
        from agent.weaknesses.retest import retest
        from agent.weaknesses.store import WeaknessStore
        from agent.weaknesses.tickets import ticket_exporters

        exporters = ticket_exporters(self.res.exports.queue.exporters) if self.res.exports.per_weakness else {}
        with WeaknessStore(config.findings.path) as store:
            report = retest(world=world, config=config, findings=self.res.store, weaknesses=store,
                            supervision=Supervision(guard=guard, journal=self.res.journal, store=self.res.store),
                            exporters=exporters, max_injections=budget, should_stop=should_stop)
        for _ in range(min(report.injections, budget)):
            self.table.spend(slot)
        self.res.exports.drain()
        self.backoff.reset()
        log.info("retest_finished", injections=report.injections, stopped=report.stopped or None,
                 resolved=[o.weakness for o in report.outcomes if o.status == "resolved"],
                 reproduced=[o.weakness for o in report.outcomes if o.reproduced])

    def _after_failed_slot(self, found: list[Finding]) -> None:
        """run_game_day reverts on the way out; what a failed revert left open is retried from the journal.
        The findings made before the slot failed are stored already: they are exported too."""
        if open_intents(self.res.journal.path):
            self.res.recovery.revert_open(time.monotonic() + self.config.agent.revert_timeout_s)
        self.res.exports.queue_findings(found)
