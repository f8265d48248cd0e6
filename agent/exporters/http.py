"""A small JSON-over-HTTP client for the exporters (stdlib urllib), with retries that respect the server.

429, 5xx, timeouts and refused connections are retried with exponential back-off and full jitter;
``Retry-After`` (seconds or an HTTP date) sets the wait when given. A wait longer than the allowed
maximum ends the call with ``TransientExportError(retry_after_s=...)`` so the queue tries later.
Headers are never logged, and every message is passed through the secrets' redaction.

Redirects are never followed: urllib would re-send every header (an API key, a bearer token) to the
``Location`` host, and a JSON API that redirects a POST is misconfigured anyway (the body is dropped).
A 3xx is an error naming where the server pointed, so the operator fixes the configured URL.
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from agent.backoff import Backoff
from agent.errors import ExportError
from agent.exporters.secrets import Secret

log = structlog.get_logger(__name__)
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "chaos-agent/0.1 (+findings export)"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand a 3xx back as an HTTPError instead of following it with the credentials attached."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class TransientExportError(ExportError):
    """The server is busy or unreachable; trying again later may work."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 10.0


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: Any
    """Parsed JSON, or None for an empty body."""


@dataclass
class JsonHttp:
    """Requests to one service. ``headers`` is called per request, so secrets are revealed only then."""

    service: str
    base_url: str
    headers: Callable[[], Mapping[str, str]] = dict
    secrets: Sequence[Secret] = ()
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = s.redact(text)
        return text

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        expect: Sequence[int] = (200, 201, 204),
    ) -> HttpReply:
        """Send ``body`` as JSON (or ``data`` as is); retry transient failures; else raise ExportError."""
        payload = data if data is not None else (None if body is None else json.dumps(body).encode())
        url = self.base_url.rstrip("/") + path if path else self.base_url
        attempt = 0
        while True:
            try:
                return self._once(method, url, path, payload, extra_headers, expect)
            except TransientExportError as e:
                wait = self._wait(attempt, e.retry_after_s)
                if attempt >= self.policy.retries or wait > self.policy.max_backoff_s:
                    raise TransientExportError(
                        f"{e} (gave up after {attempt + 1} attempt(s))", retry_after_s=e.retry_after_s
                    ) from e
                log.info(
                    "export_retry",
                    service=self.service,
                    method=method,
                    path=path,
                    attempt=attempt + 1,
                    wait_s=round(wait, 3),
                    reason=str(e),
                )
                self.sleep(wait)
                attempt += 1

    def _wait(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return retry_after_s
        # full jitter: spreads retries of many agents apart
        return Backoff(self.policy.backoff_s, self.policy.max_backoff_s).delay(attempt, self.rng)

    def _once(
        self,
        method: str,
        url: str,
        path: str,
        payload: bytes | None,
        extra: Mapping[str, str] | None,
        expect: Sequence[int],
    ) -> HttpReply:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **self.headers(), **(extra or {})}
        if payload is not None:
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=payload, headers=headers, method=method)
        where = f"{self.service}: {method} {path}"
        try:
            with _OPENER.open(req, timeout=self.policy.timeout_s) as resp:
                status, raw, resp_headers = resp.status, resp.read(), dict(resp.headers.items())
        except urllib.error.HTTPError as e:
            status, raw, resp_headers = e.code, e.read(), dict(e.headers.items()) if e.headers else {}
        except TimeoutError as e:
            raise TransientExportError(f"{where} timed out after {self.policy.timeout_s:g} s") from e
        except urllib.error.URLError as e:
            reason = e.reason if isinstance(e.reason, str) else type(e.reason).__name__
            if isinstance(e.reason, TimeoutError | socket.timeout):
                raise TransientExportError(f"{where} timed out after {self.policy.timeout_s:g} s") from e
            raise TransientExportError(self.redact(f"{where} could not connect: {reason}")) from e
        except (ConnectionError, OSError) as e:
            raise TransientExportError(f"{where} failed: {type(e).__name__}") from e
        log.debug("export_http", service=self.service, method=method, path=path, status=status)
        if status in expect:
            return HttpReply(status, resp_headers, _json(raw))
        if 300 <= status < 400:
            location = next((v for k, v in resp_headers.items() if k.lower() == "location"), "nowhere")
            raise ExportError(self.redact(
                f"{where} answered {status}, a redirect to {location}; redirects are not followed, so "
                f"credentials go only to the configured {self.base_url}: configure the final URL instead"))
        snippet = self.redact(raw[:300].decode("utf-8", "replace")).replace("\n", " ")
        message = f"{where} answered {status}: {snippet}"
        if status in RETRYABLE:
            raise TransientExportError(message, retry_after_s=_retry_after(resp_headers))
        raise ExportError(message)


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
