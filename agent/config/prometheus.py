"""[prometheus]: where Prometheus is, how anomalies are scored, and the PromQL steady-state checks.

Hypotheses must hold (``value <comparison> threshold``) before, during and after an injection; stop
conditions halt the agent when they fire (``value <comparison> threshold``). Query templates may name a
target's ``$namespace``, ``$name`` or ``$node`` only inside a double-quoted label value; the values are
checked and escaped when filled in (agent/prometheus/promql.py).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from agent.config.parse import setting
from agent.errors import ConfigError

Comparison = Literal["<", "<=", ">", ">="]
Phase = Literal["before", "during", "after"]
PHASES: tuple[Phase, ...] = ("before", "during", "after")
TEMPLATE_FIELDS = ("namespace", "name", "node")

SIGNAL_NAMES = (
    "unready_pods", "restarts", "unavailable_replicas", "statefulset_ready", "cpu", "error_ratio",
    "latency_p99", "node_not_ready", "gpu_allocatable", "gpu_xid_errors", "gpu_memory_used",
    "model_accuracy", "feature_drift", "training_progress_lost",
)
"""The golden signals of agent/prometheus/signals.py, named here so a weight for a typo is refused."""

MAX_POINTS = 11000
"""Prometheus refuses range queries of more points per series than this."""
_CHECK_NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$")


def _url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http:// or https:// URL such as http://prometheus.monitoring:9090"
    if parts.query or parts.fragment:
        return "must not carry a query string or fragment"
    return None


def _check_name(value: str) -> str | None:
    if not _CHECK_NAME.match(value):
        return "must be 1-63 lowercase letters, digits, '_', '.' or '-', starting and ending alphanumeric"
    return None


def template_problem(query: str) -> str | None:
    """Why a PromQL template is unusable, or None. Placeholders must sit inside a quoted label value."""
    if not query.strip():
        return "must be a non-empty PromQL expression"
    template = string.Template(query)
    if not template.is_valid():
        return "has a malformed placeholder: write $namespace, $name or $node (a literal $ is $$)"
    unknown = sorted(set(template.get_identifiers()) - set(TEMPLATE_FIELDS))
    if unknown:
        return f"names unknown placeholder ${unknown[0]}; allowed: $namespace, $name, $node"
    for match in template.pattern.finditer(query):
        if (match.group("named") or match.group("braced")) and not _inside_quotes(query, match.start()):
            return ('uses a placeholder outside a double-quoted label value; write it as '
                    'namespace="$namespace" so the value is escaped, never pasted into the expression')
    return None


def _inside_quotes(query: str, position: int) -> bool:
    inside = False
    escaped = False
    for ch in query[:position]:
        if escaped:
            escaped = False
        elif ch == "\\" and inside:
            escaped = True
        elif ch == '"':
            inside = not inside
    return inside


def _weights(value: dict[str, float]) -> str | None:
    unknown = sorted(set(value) - set(SIGNAL_NAMES))
    if unknown:
        return f"names unknown signal {unknown[0]!r}; known signals: {', '.join(SIGNAL_NAMES)}"
    return None


def _unique_names(value: tuple[PromQLCheck, ...]) -> str | None:
    seen: set[str] = set()
    for check in value:
        if check.name in seen:
            return f"has two checks named {check.name!r}; names must be unique"
        seen.add(check.name)
    return None


def _phases(value: tuple[str, ...]) -> str | None:
    if not value:
        return f"must name at least one of {', '.join(PHASES)}"
    return None


@dataclass(frozen=True)
class PromQLCheck:
    """[[prometheus.hypotheses]] or [[prometheus.stop_conditions]]: one PromQL comparison."""

    name: str = setting(check=_check_name, doc="Short id shown in results and the journal.")
    query: str = setting(check=template_problem, doc=(
        "PromQL giving an instant vector or scalar; every series is compared. May use "
        '$namespace, $name (the target workload) and $node inside quoted label values.'))
    comparison: Comparison = setting(doc="How the value is compared with the threshold.")
    threshold: float = setting(minimum=-1e15, maximum=1e15, doc="The bound, in the query's unit.")
    phases: tuple[Phase, ...] = setting(PHASES, check=_phases, doc="When the check runs.")
    on_no_data: Literal["fail", "pass"] = setting("fail", doc=(
        '"fail" (default) treats an empty answer as a failed hypothesis or a fired stop condition: '
        "a missing metric must not look like health."))


@dataclass(frozen=True)
class AnomalySettings:
    """[prometheus.anomaly]: the robust score of each signal's current window against its baseline."""

    current_window_s: float = setting(120.0, minimum=1, maximum=86400, doc=(
        "The recent window scored (its median). Two minutes: eight scrapes at 15 s, short enough to "
        "see a fault while it is applied."))
    baseline_window_s: float = setting(1800.0, minimum=10, maximum=30 * 86400, doc=(
        "The history before the current window that defines normal: 30 minutes hold 120 scrapes."))
    step_s: float = setting(15.0, minimum=0.1, maximum=3600, doc="Range-query resolution; one scrape interval.")
    rate_window_s: float = setting(60.0, minimum=1, maximum=86400, doc=(
        "Range of rate()/increase() in the signal queries; at least four scrape intervals."))
    max_score: float = setting(20.0, minimum=1, maximum=1e6, doc=(
        "Cap of one signal's score, so a constant baseline (MAD 0) meeting any change stays finite."))
    weights: dict[str, float] = setting(factory=dict, minimum=0, maximum=1000, check=_weights, doc=(
        "Signal name -> weight (default 1.0 each; 0 disables). A target's score is the largest "
        "weighted signal score."))

    def __post_init__(self) -> None:
        points = (self.current_window_s + self.baseline_window_s) / self.step_s
        if points > MAX_POINTS:
            raise ConfigError(
                f"prometheus.anomaly windows ({self.current_window_s:g} s + {self.baseline_window_s:g} s) at "
                f"step_s = {self.step_s:g} need {points:.0f} points per series; Prometheus answers at most "
                f"{MAX_POINTS}: raise step_s or shorten the windows")
        if self.current_window_s < self.step_s:
            raise ConfigError(f"prometheus.anomaly.current_window_s ({self.current_window_s:g}) must be at least "
                              f"step_s ({self.step_s:g}), or the current window holds no point")


@dataclass(frozen=True)
class PrometheusSettings:
    """[prometheus]: the metrics source for anomaly scores and steady-state checks."""

    enabled: bool = setting(False, doc=(
        "Use Prometheus. Off by default: the simulated cluster supplies its own signals."))
    url: str = setting("http://127.0.0.1:9090", check=_url, doc="Base URL of the Prometheus HTTP API.")
    timeout_s: float = setting(5.0, minimum=0.1, maximum=120, doc=(
        "Per-request timeout. Five seconds: a healthy Prometheus answers these queries in "
        "milliseconds; a slower one is treated as unavailable (no injection)."))
    retry_attempts: int = setting(3, minimum=1, maximum=10, doc="Attempts per query before giving up.")
    retry_base_s: float = setting(0.5, minimum=0, maximum=60, doc=(
        "First back-off; it doubles per attempt, with jitter."))
    retry_max_s: float = setting(5.0, minimum=0, maximum=600, doc="Largest back-off between two attempts.")
    drift_threshold: float = setting(1.0, minimum=0, maximum=100, doc=(
        "feature_drift_score (in sigma) above which drift counts as detected in the steady state; "
        "1 sigma as the simulator's drift monitors."))
    anomaly: AnomalySettings = setting(factory=AnomalySettings, doc="[prometheus.anomaly]")
    hypotheses: tuple[PromQLCheck, ...] = setting((), check=_unique_names, doc=(
        "[[prometheus.hypotheses]]: must hold."))
    stop_conditions: tuple[PromQLCheck, ...] = setting((), check=_unique_names, doc=(
        "[[prometheus.stop_conditions]]: when one fires, the agent reverts and halts."))
