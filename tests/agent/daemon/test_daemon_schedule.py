"""Fire times with fixed clocks: business hours, blackouts, DST changes, game days and their budgets."""

from __future__ import annotations

import random
import statistics
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.config.parse import ParseContext, parse_section
from agent.config.schedule import GameDaySettings, ScheduleSettings, ServiceSettings
from agent.daemon.schedule import (
    GameDayBudget,
    InjectionPlanner,
    ScheduleError,
    Timetable,
    active_game_day,
    advance_in_allowed_time,
    allowed_intervals,
    next_game_day,
    next_game_day_injection,
    next_injection_time,
)
from agent.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _table(text: str) -> Timetable:
    raw = tomllib.loads(text).get("schedule", {})
    return Timetable.from_settings(parse_section(ScheduleSettings, raw, "schedule", ParseContext(Path("."))))


OFFICE = _table('[schedule]\ntimezone = "Europe/Berlin"\nblackout_dates = ["2026-12-24"]')


def test_time_after_friday_five_continues_on_monday_morning() -> None:
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=BERLIN)
    assert advance_in_allowed_time(friday, 3600, OFFICE) == datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN)
    assert advance_in_allowed_time(friday, 600, OFFICE) == datetime(2026, 11, 20, 16, 40, tzinfo=BERLIN)


def test_outside_hours_the_clock_starts_at_the_next_window() -> None:
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=BERLIN)
    assert advance_in_allowed_time(saturday, 0, OFFICE) == datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


def test_blackout_dates_are_skipped() -> None:
    before = datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN)  # Wednesday; the 24th is blacked out
    assert advance_in_allowed_time(before, 2 * 3600, OFFICE) == datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN)


def test_spring_forward_day_has_one_hour_less_of_a_night_window() -> None:
    table = _table('[schedule]\ntimezone = "America/New_York"\n[[schedule.business_hours]]\n'
                   'days = ["mon","tue","wed","thu","fri","sat","sun"]\nstart = "01:00"\nend = "04:00"')
    start = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)  # 02:00 -> 03:00 on this Sunday
    first = next(allowed_intervals(start, table))
    assert first[1] - first[0] == timedelta(hours=2)
    # 2.5 h of allowed time: the 2 real hours of the 8th, then 30 minutes on the 9th.
    assert advance_in_allowed_time(start, 2.5 * 3600, table) == datetime(2026, 3, 9, 1, 30, tzinfo=NEW_YORK)
    ordinary = next(allowed_intervals(datetime(2026, 3, 10, 0, 0, tzinfo=NEW_YORK), table))
    assert ordinary[1] - ordinary[0] == timedelta(hours=3)


def test_fall_back_day_has_one_hour_more() -> None:
    table = _table('[schedule]\ntimezone = "America/New_York"\n[[schedule.business_hours]]\n'
                   'days = ["sun"]\nstart = "01:00"\nend = "03:00"')
    start = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    first = next(allowed_intervals(start, table))
    assert first == (datetime(2026, 11, 1, 5, 0, tzinfo=UTC), datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    assert advance_in_allowed_time(start, 2.5 * 3600, table) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)


def test_window_until_midnight_merges_with_the_next_morning() -> None:
    table = _table('[schedule]\n[[schedule.business_hours]]\ndays = ["mon"]\nstart = "20:00"\nend = "24:00"\n'
                   '[[schedule.business_hours]]\ndays = ["tue"]\nstart = "00:00"\nend = "02:00"')
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert next(allowed_intervals(monday, table)) == (
        datetime(2026, 11, 23, 20, 0, tzinfo=UTC), datetime(2026, 11, 24, 2, 0, tzinfo=UTC))


def test_exponential_gaps_are_seeded_and_have_the_configured_mean() -> None:
    table = _table('[schedule]\nmean_interval_s = 600\n[[schedule.business_hours]]\n'
                   'days = ["mon","tue","wed","thu","fri","sat","sun"]\nstart = "00:00"\nend = "24:00"')
    now = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    first = next_injection_time(now, table, random.Random(5))
    assert first == next_injection_time(now, table, random.Random(5))
    rng = random.Random(11)
    gaps = [(next_injection_time(now, table, rng) - now).total_seconds() for _ in range(600)]
    assert statistics.mean(gaps) == pytest.approx(600, rel=0.15)
    assert statistics.median(gaps) == pytest.approx(600 * 0.693, rel=0.15)  # exponential, not uniform


def test_injections_only_land_inside_windows() -> None:
    rng = random.Random(2)
    now = datetime(2026, 11, 20, 8, 0, tzinfo=BERLIN)
    for _ in range(200):
        now = next_injection_time(now, OFFICE, rng)
        local = now.astimezone(BERLIN)
        assert local.weekday() < 5 and 9 <= local.hour < 17 and local.date().isoformat() != "2026-12-24"


def test_no_allowed_time_is_an_error() -> None:
    mondays = ", ".join(f'"{(datetime(2026, 11, 23) + timedelta(weeks=i)).date()}"' for i in range(60))
    table = _table(f'[schedule]\nblackout_dates = [{mondays}]\n'
                   '[[schedule.business_hours]]\ndays = ["mon"]\nstart = "09:00"\nend = "10:00"')
    with pytest.raises(ScheduleError, match="no injection time within"):
        advance_in_allowed_time(datetime(2026, 11, 22, tzinfo=UTC), 1, table)


GAME_DAYS = _table('''
[schedule]
mode = "game_days"
timezone = "Europe/Berlin"
mean_interval_s = 600
blackout_dates = ["2026-12-01"]
[[schedule.game_days]]
name = "tuesday"
cron = "0 10 * * tue"
budget = 2
duration_s = 7200
[[schedule.game_days]]
name = "daily"
cron = "0 9 * * *"
budget = 1
duration_s = 600
''')


def test_next_game_day_skips_blackouts() -> None:
    monday = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)
    session = next_game_day(monday, GAME_DAYS)
    assert session is not None and session.name == "daily"
    assert session.start == datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)  # the 1st is blacked out
    tuesdays = [g for g in GAME_DAYS.game_days if g.name == "tuesday"]
    only_tuesday = Timetable(GAME_DAYS.zone, 600, (), GAME_DAYS.blackout, tuple(tuesdays))
    following = next_game_day(monday, only_tuesday)
    assert following is not None and following.start == datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)


def test_cron_follows_local_time_across_dst() -> None:
    before = next_game_day(datetime(2026, 3, 28, 9, 30, tzinfo=BERLIN), GAME_DAYS)
    assert before is not None and before.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    earlier = next_game_day(datetime(2026, 3, 27, 9, 30, tzinfo=BERLIN), GAME_DAYS)
    assert earlier is not None and earlier.start == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET


def test_active_session_and_its_end() -> None:
    inside = active_game_day(datetime(2026, 11, 24, 11, 59, tzinfo=BERLIN), GAME_DAYS)
    assert inside is not None and inside.name == "tuesday"
    assert active_game_day(datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN), GAME_DAYS) is None
    assert active_game_day(datetime(2026, 12, 1, 10, 30, tzinfo=BERLIN), GAME_DAYS) is None  # blackout


def test_game_day_budget_moves_injections_to_the_next_session() -> None:
    budget = GameDayBudget()
    rng = random.Random(3)
    now = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)
    seen = []
    for _ in range(3):
        found = next_game_day_injection(now, GAME_DAYS, budget, rng)
        assert found is not None
        session, at = found
        assert session.start <= at < session.end
        budget.spend(session)
        seen.append(session.name)
        now = at
    assert seen[:2] == ["tuesday", "tuesday"] and seen[2] == "daily"
    with pytest.raises(ScheduleError, match="no budget left"):
        tuesday = active_game_day(datetime(2026, 11, 24, 11, 0, tzinfo=BERLIN), GAME_DAYS)
        assert tuesday is not None
        budget.spend(tuesday)


@pytest.mark.parametrize(("body", "message"), [
    ('timezone = "Mars/Olympus"', "schedule.timezone must be an IANA time zone"),
    ('blackout_dates = ["24.12.2026"]', "ISO dates"),
    ('[[schedule.business_hours]]\nstart = "9am"', "start must be a time of day"),
    ('[[schedule.business_hours]]\nstart = "17:00"\nend = "09:00"', "end must be after start"),
    ('[[schedule.business_hours]]\ndays = ["monday"]', r"days\[0\] must be one of"),
    ('[[schedule.game_days]]\nname = "x"\ncron = "61 * * * *"', "5-field crontab"),
    ('[[schedule.game_days]]\nname = "x"\ncron = "0 10 * * tue"\nbudget = 0', "budget must be from 1 to 1000, got 0"),
    ('mode = "sometimes"', "schedule.mode must be one of"),
])
def test_bad_schedule_settings(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _table("[schedule]\n" + body)


def test_planner_continuous_and_game_days() -> None:
    office = ScheduleSettings(timezone="Europe/Berlin")
    planner = InjectionPlanner(office, seed=1)
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=BERLIN)
    assert not planner.allowed_now(friday_evening)
    assert planner.allowed_now(datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN))
    slot = planner.next_slot(friday_evening)
    assert slot is not None and slot.session is None
    assert slot.at.astimezone(BERLIN).weekday() == 0 and planner.allowed_now(slot.at)
    assert slot == InjectionPlanner(office, seed=1).next_slot(friday_evening)  # seeded

    game = ScheduleSettings(mode="game_days", timezone="Europe/Berlin", mean_interval_s=300, game_days=(
        GameDaySettings(name="gd", cron="0 10 * * tue", budget=1, duration_s=3600),))
    planner = InjectionPlanner(game, seed=1)
    tuesday = datetime(2026, 11, 24, 10, 5, tzinfo=BERLIN)
    assert planner.allowed_now(tuesday)
    first = planner.next_slot(tuesday)
    assert first is not None and first.session is not None and first.session.name == "gd"
    planner.record(first)
    assert not planner.allowed_now(first.at)  # budget spent
    second = planner.next_slot(first.at)
    assert second is not None and second.at.date() == datetime(2026, 12, 1).date()


@pytest.mark.parametrize(("clock", "allowed"), [
    (time(9, 0), True),  # a window is [start, end): its first moment is in it
    (time(16, 59, 59, 999999), True),
    (time(17, 0), False),  # ... and its last is not
    (time(8, 59, 59, 999999), False),
])
def test_allowed_now_at_the_edges_of_a_window(clock: time, allowed: bool) -> None:
    planner = InjectionPlanner(ScheduleSettings(timezone="Europe/Berlin"), seed=1)
    assert planner.allowed_now(datetime.combine(date(2026, 11, 24), clock, tzinfo=BERLIN)) is allowed


@pytest.mark.parametrize(("clock", "allowed"), [(time(10, 0), True), (time(10, 59, 59), True), (time(11, 0), False)])
def test_allowed_now_at_the_edges_of_a_game_day(clock: time, allowed: bool) -> None:
    game = ScheduleSettings(mode="game_days", timezone="Europe/Berlin", game_days=(
        GameDaySettings(name="gd", cron="0 10 * * tue", budget=5, duration_s=3600),))
    planner = InjectionPlanner(game, seed=1)
    assert planner.allowed_now(datetime.combine(date(2026, 11, 24), clock, tzinfo=BERLIN)) is allowed


def test_service_settings() -> None:
    raw = tomllib.loads('[service]\nlisten_port = 9000\nlog_level = "debug"')["service"]
    settings = parse_section(ServiceSettings, raw, "service", ParseContext(Path(".")))
    assert (settings.listen_host, settings.listen_port, settings.log_level) == ("127.0.0.1", 9000, "debug")
    with pytest.raises(ConfigError, match=r"service\.listen_port must be from 1 to 65535, got 70000"):
        parse_section(ServiceSettings, {"listen_port": 70000}, "service", ParseContext(Path(".")))
