"""The ``chaos-agent.io/`` annotation contract: what YAML cannot say, read with defaults and notes.

A bad value never fails the build: it becomes a note naming the object, the annotation, the value and
what is allowed, and the default applies. An unknown ``chaos-agent.io/`` key is noted too (a typo would
otherwise silently change nothing). docs/twin.md lists every key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from envs.spec import CALLS_ANNOTATION
from envs.twin.notes import Notes
from envs.twin.quantities import (
    boolean,
    duration_s,
    fraction,
    non_negative_number,
    positive_int,
    positive_number,
)

PREFIX = "chaos-agent.io/"
WORKLOAD = PREFIX + "workload"
CALLS = CALLS_ANNOTATION
CHECKPOINT_INTERVAL = PREFIX + "checkpoint-interval"
EPOCHS = PREFIX + "epochs"
EPOCH_DURATION = PREFIX + "epoch-duration"
GPU_MEMORY_FRACTION = PREFIX + "gpu-memory-fraction"
PIPELINE_STAGE = PREFIX + "pipeline-stage"
FEEDS = PREFIX + "feeds"
DRIFT_MONITOR = PREFIX + "drift-monitor"
SCHEMA_CHECK = PREFIX + "schema-check"
MAX_STALENESS = PREFIX + "max-staleness"
CAPACITY_RPS = PREFIX + "capacity-rps-per-pod"
STARTUP = PREFIX + "startup"
LEADER_FAILOVER = PREFIX + "leader-failover"
ROLLOUT_EVERY = PREFIX + "rollout-every"
ENTRYPOINT = PREFIX + "entrypoint"
SLO_AVAILABILITY = PREFIX + "slo-availability"
SLO_LATENCY = PREFIX + "slo-latency-p99-ms"
LOAD_RPS = PREFIX + "load-rps"
BASE_LATENCY = PREFIX + "base-latency-ms"
EDGE_RETRIES = PREFIX + "edge-retries"
COLD_START = PREFIX + "cold-start"
DATASTORE = PREFIX + "datastore"
DATA_PATH = PREFIX + "data-path"
DATA_UNIT = PREFIX + "data-unit"
DATA_ITEMS = PREFIX + "data-items"
DATA_REPLICATED = PREFIX + "data-replicated"

WORKLOAD_KEYS = frozenset(
    {
        WORKLOAD,
        CALLS,
        CHECKPOINT_INTERVAL,
        EPOCHS,
        EPOCH_DURATION,
        GPU_MEMORY_FRACTION,
        PIPELINE_STAGE,
        FEEDS,
        DRIFT_MONITOR,
        SCHEMA_CHECK,
        MAX_STALENESS,
        CAPACITY_RPS,
        STARTUP,
        LEADER_FAILOVER,
        ROLLOUT_EVERY,
        COLD_START,
        DATASTORE,
        DATA_PATH,
        DATA_UNIT,
        DATA_ITEMS,
        DATA_REPLICATED,
    }
)
ENTRY_CLIENT = PREFIX + "entry-client"
SERVICE_KEYS = frozenset({ENTRYPOINT, SLO_AVAILABILITY, SLO_LATENCY, LOAD_RPS, BASE_LATENCY, ENTRY_CLIENT,
                          EDGE_RETRIES})
ROLES = ("serving", "training", "pipeline", "cache", "batch")
DATASTORE_USAGES = ("store", "cache", "none")
STAGES = ("producer", "feature_store", "model")
CALL_FIELDS = ("timeout_ms", "retries", "fallback", "per_request", "cache_ttl")

T = TypeVar("T")


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in allowed:
            raise ValueError("one of " + ", ".join(allowed))
        return text.strip()

    return parse


def non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError("a whole number of at least 0")
    return int(text)


def service_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ValueError("one or more Service names separated by commas")
    return names


@dataclass(frozen=True)
class CallOverride:
    """One entry of ``chaos-agent.io/calls``; None fields keep the defaults."""

    target: str
    timeout_ms: float | None = None
    retries: int | None = None
    fallback: bool | None = None
    per_request: float | None = None
    cache_ttl_s: float | None = None


@dataclass(frozen=True)
class AnnotationReader:
    """Reads one object's annotations, noting bad values against ``owner`` (e.g. "Deployment ns/x")."""

    owner: str
    values: Mapping[str, str]
    notes: Notes

    def get(self, key: str, parse: Callable[[str], T], default: T) -> T:
        value = self.optional(key, parse)
        return default if value is None else value

    def optional(self, key: str, parse: Callable[[str], T]) -> T | None:
        text = self.values.get(key)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as e:
            self.bad(key, text, str(e))
            return None

    def bad(self, key: str, value: str, allowed: str) -> None:
        self.notes.add(
            f"{self.owner}: annotation {key}={value!r} is invalid (allowed: {allowed}); default used"
        )

    def note_unquoted(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.notes.add(
                f"{self.owner}: annotation {key} is not a quoted string; read as "
                f"{self.values.get(key)!r} (the API server would reject it: quote it)"
            )

    def check_known(self, known: frozenset[str]) -> None:
        for key in sorted(self.values):
            if key.startswith(PREFIX) and key not in known:
                self.notes.add(f"{self.owner}: unknown annotation {key} ignored (see docs/twin.md)")

    def calls(self) -> list[CallOverride]:
        text = self.values.get(CALLS)
        if text is None:
            return []
        allowed = ('a JSON object: service name -> {"timeout_ms": >0, "retries": >=0, "fallback": bool, '
                   '"per_request": >0, "cache_ttl": seconds, a duration or "forever"}')
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
            self.bad(CALLS, text, allowed)
            return []
        out = []
        for target, fields in sorted(raw.items()):
            timeout, retries, fallback = (
                fields.get("timeout_ms"),
                fields.get("retries"),
                fields.get("fallback"),
            )
            for key in sorted(set(fields) - set(CALL_FIELDS)):
                self.notes.add(f"{self.owner}: {CALLS} entry {target!r} has unknown field {key!r} (ignored)")
            if timeout is not None and (
                isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
            ):
                self.bad(CALLS, f"{target}.timeout_ms={timeout!r}", "a number of milliseconds > 0")
                timeout = None
            if retries is not None and (
                isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
            ):
                self.bad(CALLS, f"{target}.retries={retries!r}", "a whole number >= 0")
                retries = None
            if fallback is not None and not isinstance(fallback, bool):
                self.bad(CALLS, f"{target}.fallback={fallback!r}", "true or false")
                fallback = None
            share = fields.get("per_request")
            if share is not None and (isinstance(share, bool) or not isinstance(share, int | float) or share <= 0):
                self.bad(CALLS, f"{target}.per_request={share!r}", "a number of calls per request > 0")
                share = None
            ttl = _cache_ttl(fields.get("cache_ttl"))
            if isinstance(ttl, str):
                self.bad(CALLS, f"{target}.cache_ttl={fields.get('cache_ttl')!r}", ttl)
                ttl = None
            out.append(CallOverride(target, None if timeout is None else float(timeout), retries, fallback,
                                    None if share is None else float(share), ttl))
        return out


def _cache_ttl(value: object) -> float | str | None:
    """Seconds a call's answer is cached, or why the value is not one ("forever": until the pod restarts)."""
    if value is None:
        return None
    if value == "forever":
        return math.inf
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        try:
            return duration_s(value)
        except ValueError:
            pass
    return 'seconds >= 0, a duration such as "5m", or "forever"'


def cache_ttl_text(seconds: float) -> str | float:
    """How ``cache_ttl`` is written in ``chaos-agent.io/calls``."""
    return "forever" if math.isinf(seconds) else seconds


__all__ = [
    "ROLES",
    "STAGES",
    "AnnotationReader",
    "CallOverride",
    "boolean",
    "duration_s",
    "fraction",
    "non_negative_number",
    "one_of",
    "positive_int",
    "positive_number",
    "service_list",
]
