"""The daemon's timetable: which slot comes next, how many injections it may make, and its error budget.

Continuous mode: one slot per draw of ``InjectionPlanner.next_slot`` (exponential gaps of business
time), one injection each. Game days: a session open now with budget left is a slot at once, run as
one game day with the budget that is left; otherwise the planner says when the next session starts.
A drawn slot is kept until it is due (a redraw on every poll would bias the gaps short).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from agent.config.schedule import ScheduleSettings
from agent.safety import ErrorBudget
from agent.service.schedule import InjectionPlanner, Slot, active_game_day


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

