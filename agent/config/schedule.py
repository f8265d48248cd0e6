"""[schedule]: when the daemon may inject on a real cluster; [service]: its endpoints and logs.

Continuous mode injects at random (exponential) intervals counted only inside business-hours windows;
game days fire on cron expressions with a budget of injections each. Blackout dates stop both. All
times are wall-clock times of ``timezone``; agent/daemon/schedule.py computes the fire times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from agent.config.parse import setting
from agent.errors import ConfigError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$")


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as UTC or Europe/Berlin"
    return None


def _clock(value: str) -> str | None:
    return None if _CLOCK.match(value) else "must be a time of day HH:MM (00:00 to 24:00)"


def _dates(value: tuple[str, ...]) -> str | None:
    for item in value:
        try:
            date.fromisoformat(item)
        except ValueError:
            return f"must hold ISO dates YYYY-MM-DD; {item!r} is not one"
        if len(item) != 10:
            return f"must hold ISO dates YYYY-MM-DD; {item!r} is not one"
    return None


def _cron(value: str) -> str | None:
    try:
        CronTrigger.from_crontab(value)
    except ValueError as e:
        return f"must be a 5-field crontab expression (minute hour day month weekday): {e}"
    return None


def _name(value: str) -> str | None:
    return None if _NAME.match(value) else "must be 1-63 lowercase letters, digits, '_', '.' or '-'"


def _days(value: tuple[str, ...]) -> str | None:
    return None if value else "must name at least one weekday"


@dataclass(frozen=True)
class BusinessHours:
    """[[schedule.business_hours]]: a weekly window in which continuous injections may happen."""

    days: tuple[Weekday, ...] = setting(("mon", "tue", "wed", "thu", "fri"), check=_days, doc="Weekdays.")
    start: str = setting("09:00", check=_clock, doc="Local start time HH:MM.")
    end: str = setting("17:00", check=_clock, doc=(
        "Local end time HH:MM, after start (24:00: end of day). Engineers are at work to respond."))

    def __post_init__(self) -> None:
        if _CLOCK.match(self.start) and _CLOCK.match(self.end) and self.end <= self.start:
            raise ConfigError(f"schedule.business_hours end must be after start, got {self.start}-{self.end}")


@dataclass(frozen=True)
class GameDaySettings:
    """[[schedule.game_days]]: a named, scheduled session with an injection budget."""

    name: str = setting(check=_name, doc="Shown in the journal and on /metrics.")
    cron: str = setting(check=_cron, doc=(
        'When it starts, as crontab in schedule.timezone, e.g. "0 10 * * tue".'))
    budget: int = setting(5, minimum=1, maximum=1000, doc="Injections allowed in one session.")
    duration_s: float = setting(7200.0, minimum=60, maximum=7 * 86400, doc=(
        "How long a session stays open after it starts."))
    kind: Literal["game_day", "retest"] = setting("game_day", doc=(
        '"game_day": the agent chooses faults; "retest": re-run the reproducing experiments of the known '
        "weaknesses (chaos-agent retest), resolving the tickets of those that no longer reproduce and "
        "reopening those that come back; the budget caps its injections too."))


@dataclass(frozen=True)
class ScheduleSettings:
    """[schedule]: the daemon's timetable on a real cluster (the simulator ignores it)."""

    mode: Literal["continuous", "game_days"] = setting("continuous", doc=(
        '"continuous": exponential intervals inside business hours; "game_days": only in game days.'))
    timezone: str = setting("UTC", check=_timezone, doc="IANA zone of every wall-clock time here.")
    mean_interval_s: float = setting(3600.0, minimum=10, maximum=30 * 86400, doc=(
        "Mean business-hours seconds between injections (and between the injections of a game day). "
        "An hour leaves time to observe recovery and to read the finding."))
    business_hours: tuple[BusinessHours, ...] = setting(factory=lambda: (BusinessHours(),), doc=(
        "Windows of continuous mode; default Monday to Friday 09:00-17:00."))
    blackout_dates: tuple[str, ...] = setting((), check=_dates, doc=(
        "Local dates (YYYY-MM-DD) with no injection at all: releases, holidays, sales events."))
    game_days: tuple[GameDaySettings, ...] = setting((), doc="[[schedule.game_days]]")


def _host(value: str) -> str | None:
    return None if value and " " not in value else "must be a host name or IP address to listen on"


@dataclass(frozen=True)
class ServiceSettings:
    """[service]: the daemon's HTTP endpoints (/healthz, /readyz, /metrics) and its logs."""

    listen_host: str = setting("127.0.0.1", check=_host, doc=(
        "Address of the HTTP endpoints. Loopback, so `run --serve` on a laptop is not reachable from the "
        "network; the cluster manifests set 0.0.0.0 so the kubelet's probes and Prometheus reach the pod."))
    listen_port: int = setting(8080, minimum=1, maximum=65535, doc="Port of the HTTP endpoints.")
    readiness_max_age_s: float = setting(60.0, minimum=1, maximum=3600, doc=(
        "/readyz fails when the cluster backend or Prometheus last answered longer ago than this: "
        "four 15 s scrapes."))
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", doc="Lowest level logged.")
