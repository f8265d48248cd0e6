"""The one module that talks to Prometheus: instant and range queries, validated into plain records.

Wraps ``prometheus_api_client.PrometheusConnect`` (its own urllib3 retries are switched off: retries
are ours, with back-off and jitter). Whatever is not a well-formed answer (no connection, a timeout, an
HTTP error, non-JSON, an unexpected shape, a NaN) becomes ``PrometheusUnavailable``, so callers fail
closed. ``last_ok_at`` feeds the readiness probe.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from agent.prometheus.errors import PrometheusQueryError, PrometheusUnavailable
from agent.prometheus.retry import RetryPolicy, call_with_retry

T = TypeVar("T")
_STATUS = re.compile(r"HTTP Status Code (\d{3})")
_SHOWN = 300
"""Characters of a bad answer quoted in an error: enough to recognise it, short enough for a log line."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and its value."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and (Unix time, value) points in time order."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


class PrometheusClient:
    """Queries one Prometheus server; thread-safe for the readiness bookkeeping."""

    def __init__(self, *, url: str, timeout_s: float, retry: RetryPolicy | None = None,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._retry = retry if retry is not None else RetryPolicy()
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self._api = PrometheusConnect(url=self.url, retry=Retry(total=0, raise_on_status=False))
        self._lock = threading.Lock()
        self._last_ok_at: float | None = None

    def close(self) -> None:
        self._api.close()

    def last_ok_at(self) -> float | None:
        """``time.monotonic()`` of the last valid answer, None before the first one."""
        with self._lock:
            return self._last_ok_at

    def instant(self, query: str, *, at: float | None = None) -> tuple[Sample, ...]:
        """Evaluate ``query`` now (or at Unix time ``at``); a scalar answer is one Sample without labels."""
        params = {} if at is None else {"time": f"{at:.3f}"}

        def once() -> tuple[Sample, ...]:
            raw = self._request(query, lambda: self._api.custom_query(
                query, params=params, timeout=self.timeout_s))
            return _instant_result(raw, query)

        return self._with_retry(once)

    def range(self, query: str, *, start: float, end: float, step_s: float) -> tuple[Series, ...]:
        """Evaluate ``query`` at ``start``, ``start + step_s``, ... up to ``end`` (Unix seconds)."""
        if end < start or step_s <= 0:
            raise ValueError(f"range query needs start <= end and step > 0, got {start}, {end}, {step_s}")

        def once() -> tuple[Series, ...]:
            raw = self._request(query, lambda: self._api.custom_query_range(
                query, start_time=datetime.fromtimestamp(start, UTC),
                end_time=datetime.fromtimestamp(end, UTC), step=f"{step_s:g}", timeout=self.timeout_s))
            return _range_result(raw, query)

        return self._with_retry(once)

    def _with_retry(self, once: Callable[[], T]) -> T:
        result = call_with_retry(once, policy=self._retry, retry_on=(PrometheusUnavailable,),
                                 give_up_on=(PrometheusQueryError,), rng=self._rng, sleep=self._sleep)
        with self._lock:
            self._last_ok_at = time.monotonic()
        return result

    def _request(self, query: str, call: Callable[[], Any]) -> Any:
        where = f"Prometheus at {self.url}"
        try:
            return call()
        except requests.JSONDecodeError as e:
            raise PrometheusUnavailable(f"{where} answered something that is not a query result "
                                        f"(not JSON: {_short(e)})") from e
        except requests.Timeout as e:
            raise PrometheusUnavailable(f"{where} did not answer within {self.timeout_s:g} s") from e
        except requests.ConnectionError as e:
            if _timed_out(e):
                raise PrometheusUnavailable(f"{where} did not answer within {self.timeout_s:g} s") from e
            raise PrometheusUnavailable(f"{where} cannot be reached: {_short(e)}") from e
        except requests.RequestException as e:
            raise PrometheusUnavailable(f"{where} request failed: {_short(e)}") from e
        except PrometheusApiClientException as e:
            status = _STATUS.search(str(e))
            if status is not None and status.group(1) in ("400", "422"):
                raise PrometheusQueryError(f"{where} rejected query {_cut(query)!r}: {_short(e)}") from e
            raise PrometheusUnavailable(f"{where} answered an error: {_short(e)}") from e
        except (ValueError, KeyError, TypeError) as e:  # the library indexes response.json() blindly
            raise PrometheusUnavailable(f"{where} answered something that is not a query result: "
                                        f"{type(e).__name__}: {_short(e)}") from e


def _timed_out(e: requests.ConnectionError) -> bool:
    """With urllib3 retries off, a read timeout arrives wrapped as MaxRetryError(reason=ReadTimeoutError)."""
    reason = getattr(e.args[0], "reason", None) if e.args else None
    # NewConnectionError (connection refused) subclasses ConnectTimeoutError in urllib3: not a timeout.
    return (isinstance(reason, urllib3.exceptions.TimeoutError)
            and not isinstance(reason, urllib3.exceptions.NewConnectionError))


def _short(e: BaseException) -> str:
    return _cut(str(e))


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _garbage(query: str, what: str) -> PrometheusUnavailable:
    return PrometheusUnavailable(f"Prometheus answered query {_cut(query)!r} with {what}")


def _labels(raw: Any, query: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in raw.items()):
        raise _garbage(query, f"series labels that are not a string map: {_cut(repr(raw))}")
    return dict(raw)


def _point(raw: Any, query: str) -> tuple[float, float]:
    if (not isinstance(raw, list | tuple) or len(raw) != 2 or isinstance(raw[0], bool)
            or not isinstance(raw[0], int | float) or not isinstance(raw[1], str)):
        raise _garbage(query, f"a point that is not [time, \"value\"]: {_cut(repr(raw))}")
    try:
        value = float(raw[1])
    except ValueError as e:
        raise _garbage(query, f"a value that is not a number: {raw[1][:40]!r}") from e
    if math.isnan(value):
        raise _garbage(query, "NaN (a ratio over no traffic? guard the denominator with `> 0`)")
    return float(raw[0]), value


def _instant_result(raw: Any, query: str) -> tuple[Sample, ...]:
    if isinstance(raw, list) and len(raw) == 2 and not isinstance(raw[0], dict):
        return (Sample({}, _point(raw, query)[1]),)  # resultType scalar
    if not isinstance(raw, list):
        raise _garbage(query, f"a result that is not a list: {_cut(repr(raw))}")
    samples = []
    for item in raw:
        if not isinstance(item, dict) or "metric" not in item or "value" not in item:
            raise _garbage(query, f"an instant-vector element without metric and value: {_cut(repr(item))}")
        samples.append(Sample(_labels(item["metric"], query), _point(item["value"], query)[1]))
    return tuple(samples)


def _range_result(raw: Any, query: str) -> tuple[Series, ...]:
    if not isinstance(raw, list):
        raise _garbage(query, f"a result that is not a list: {_cut(repr(raw))}")
    series = []
    for item in raw:
        if not isinstance(item, dict) or "metric" not in item or not isinstance(item.get("values"), list):
            raise _garbage(query, f"a matrix element without metric and values: {_cut(repr(item))}")
        points = tuple(sorted(_point(p, query) for p in item["values"]))
        series.append(Series(_labels(item["metric"], query), points))
    return tuple(series)
