"""When the daemon may inject: continuous mode inside business hours, and cron-scheduled game days.

Continuous mode is a Poisson process that runs only in allowed time: the gap to the next injection is
drawn from an exponential distribution (mean ``mean_interval_s``) and counted in business-hours
seconds, so a gap that does not fit before 17:00 continues the next working morning. Windows are
wall-clock times of the configured zone (zoneinfo): on a DST change day a 09:00-17:00 window is still
09:00-17:00 local time, and durations are real elapsed seconds. A window edge that falls into a
spring-forward gap is read with the offset before the change; in a fall-back overlap, the first
occurrence. Blackout dates allow nothing. The functions here are pure: a clock and an RNG come in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from agent.config.schedule import WEEKDAYS, ScheduleSettings
from agent.errors import ChaosAgentError

HORIZON_DAYS = 370
"""How far ahead allowed time is searched: a year of blackouts is a configuration mistake."""


class ScheduleError(ChaosAgentError):
    """The schedule leaves no time to inject within a year."""


@dataclass(frozen=True)
class Window:
    """Allowed local time on some weekdays: minutes since midnight, ``end_min`` up to 1440."""

    weekdays: frozenset[int]
    """0 = Monday, as ``date.weekday()``."""
    start_min: int
    end_min: int


@dataclass(frozen=True)
class GameDay:
    name: str
    trigger: CronTrigger
    budget: int
    duration: timedelta


@dataclass(frozen=True)
class Timetable:
    zone: ZoneInfo
    mean_interval_s: float
    windows: tuple[Window, ...]
    blackout: frozenset[date]
    game_days: tuple[GameDay, ...] = ()

    @classmethod
    def from_settings(cls, settings: ScheduleSettings) -> Timetable:
        zone = ZoneInfo(settings.timezone)
        return cls(
            zone=zone,
            mean_interval_s=settings.mean_interval_s,
            windows=tuple(
                Window(frozenset(WEEKDAYS.index(d) for d in w.days), _minutes(w.start), _minutes(w.end))
                for w in settings.business_hours),
            blackout=frozenset(date.fromisoformat(d) for d in settings.blackout_dates),
            game_days=tuple(GameDay(g.name, CronTrigger.from_crontab(g.cron, timezone=zone), g.budget,
                                    timedelta(seconds=g.duration_s)) for g in settings.game_days),
        )


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute >= 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def allowed_intervals(now: datetime, table: Timetable) -> Iterator[tuple[datetime, datetime]]:
    """Allowed [start, end) intervals in UTC from ``now`` on, in order, merged where they touch."""
    if now.tzinfo is None:
        raise ValueError("allowed_intervals needs an aware datetime")
    first = now.astimezone(table.zone).date() - timedelta(days=1)  # a window may run past midnight UTC
    pending: tuple[datetime, datetime] | None = None
    for offset in range(HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if day in table.blackout:
            continue
        spans = sorted(
            (_local(day, w.start_min, table.zone).astimezone(UTC),
             _local(day, w.end_min, table.zone).astimezone(UTC))
            for w in table.windows if day.weekday() in w.weekdays
        )
        for start, end in spans:
            start = max(start, now)
            if end <= start:
                continue
            if pending is not None and start <= pending[1]:
                pending = (pending[0], max(pending[1], end))
                continue
            if pending is not None:
                yield pending
            pending = (start, end)
    if pending is not None:
        yield pending


def advance_in_allowed_time(now: datetime, seconds: float, table: Timetable) -> datetime:
    """The moment when ``seconds`` of allowed time have passed after ``now``."""
    left = timedelta(seconds=seconds)
    for start, end in allowed_intervals(now, table):
        if end - start >= left:
            return start + left
        left -= end - start
    raise ScheduleError(
        f"schedule allows no injection time within {HORIZON_DAYS} days after {now.isoformat()}: "
        "check schedule.business_hours and schedule.blackout_dates")


def next_injection_time(now: datetime, table: Timetable, rng: random.Random) -> datetime:
    """Continuous mode: the next injection, an exponential gap of allowed time after ``now``."""
    return advance_in_allowed_time(now, rng.expovariate(1.0 / table.mean_interval_s), table)


@dataclass(frozen=True)
class Session:
    """One occurrence of a game day: [start, end) with its budget."""

    name: str
    start: datetime
    end: datetime
    budget: int


def next_game_day(now: datetime, table: Timetable) -> Session | None:
    """The earliest game-day session starting at or after ``now``, skipping blackout dates."""
    found: list[Session] = []
    for game in table.game_days:
        start = _next_fire(game, now, table)
        if start is not None:
            found.append(Session(game.name, start, start + game.duration, game.budget))
    return min(found, key=lambda s: (s.start, s.name), default=None)


def active_game_day(now: datetime, table: Timetable) -> Session | None:
    """The session open at ``now`` (started within its duration, not on a blackout date), if any."""
    open_now = []
    for game in table.game_days:
        start = _next_fire(game, now - game.duration + timedelta(microseconds=1), table)
        if start is not None and start <= now:
            open_now.append(Session(game.name, start, start + game.duration, game.budget))
    return min(open_now, key=lambda s: (s.start, s.name), default=None)


def _next_fire(game: GameDay, after: datetime, table: Timetable) -> datetime | None:
    fire: datetime | None = game.trigger.get_next_fire_time(None, after)
    for _ in range(HORIZON_DAYS * 24):
        if fire is None or fire.astimezone(table.zone).date() not in table.blackout:
            return fire.astimezone(UTC) if fire is not None else None
        fire = game.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return None


class GameDayBudget:
    """Counts injections per session, so a game day stops at its budget."""

    def __init__(self) -> None:
        self._spent: dict[tuple[str, datetime], int] = {}

    def remaining(self, session: Session) -> int:
        return session.budget - self._spent.get((session.name, session.start), 0)

    def spend(self, session: Session) -> None:
        if self.remaining(session) <= 0:
            raise ScheduleError(
                f"game day {session.name!r} of {session.start.isoformat()} has no budget left")
        key = (session.name, session.start)
        self._spent[key] = self._spent.get(key, 0) + 1


def next_game_day_injection(now: datetime, table: Timetable, budget: GameDayBudget,
                            rng: random.Random) -> tuple[Session, datetime] | None:
    """Game-day mode: the next injection and its session (exponential gaps inside open sessions)."""
    session = active_game_day(now, table)
    cursor = now
    for _ in range(HORIZON_DAYS * 24):
        if session is not None:
            if budget.remaining(session) > 0:
                gap = timedelta(seconds=rng.expovariate(1.0 / table.mean_interval_s))
                at = max(cursor, session.start) + gap
                if at < session.end:
                    return session, at
            cursor = max(cursor, session.end)
        session = next_game_day(cursor, table)
        if session is None:
            return None
    return None


@dataclass(frozen=True)
class Slot:
    """When the next injection may happen, and the game-day session it belongs to (None: continuous)."""

    at: datetime
    session: Session | None = None


class InjectionPlanner:
    """The daemon's view of the schedule: the next slot, whether now is allowed, and budget spending."""

    def __init__(self, settings: ScheduleSettings, *, seed: int) -> None:
        self.mode = settings.mode
        self.table = Timetable.from_settings(settings)
        self._rng = random.Random(seed)
        self._budget = GameDayBudget()

    def next_slot(self, now: datetime) -> Slot | None:
        """The next injection time after ``now``; None when no game day is scheduled any more."""
        if self.mode == "continuous":
            return Slot(next_injection_time(now, self.table, self._rng))
        found = next_game_day_injection(now, self.table, self._budget, self._rng)
        return None if found is None else Slot(found[1], found[0])

    def allowed_now(self, now: datetime) -> bool:
        """Whether an injection at ``now`` is inside the schedule (re-checked right before injecting)."""
        if self.mode == "continuous":
            return advance_in_allowed_time(now, 0.0, self.table) == now
        session = active_game_day(now, self.table)
        return session is not None and self._budget.remaining(session) > 0

    def record(self, slot: Slot) -> None:
        """Count an injection made in ``slot`` against its game day's budget."""
        if slot.session is not None:
            self._budget.spend(slot.session)
