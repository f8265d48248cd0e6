"""A small REST client for the test control plane, independent of the agent's own client.

Tests read back through it what the agent did (so a bug in the agent's client cannot hide itself),
and the fixture uses it to wait for readiness and to seed workloads. JSON in, JSON out; an answer
outside 2xx raises ``ApiStatus`` with the status code and the server's message.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

Obj = dict[str, Any]
T = TypeVar("T")

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}


class ApiStatus(Exception):
    """The API server answered outside 2xx (or not at all: code 0)."""

    def __init__(self, code: int, method: str, path: str, body: Obj | str) -> None:
        self.code, self.method, self.path, self.body = code, method, path, body
        message = body.get("message", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: {code} {str(message)[:500]}")


@dataclass(frozen=True)
class Credentials:
    """Either a client certificate (cert, key) or a bearer token, plus the CA to trust."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None
    token: str | None = None


class RestClient:
    def __init__(self, url: str, credentials: Credentials, *, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.timeout_s = timeout_s
        self._tls = ssl.create_default_context(cafile=str(credentials.ca))
        if credentials.cert is not None and credentials.key is not None:
            self._tls.load_cert_chain(str(credentials.cert), str(credentials.key))

    def with_token(self, token: str) -> RestClient:
        """The same server as another identity (a ServiceAccount's token)."""
        return RestClient(self.url, Credentials(ca=self.credentials.ca, token=token), timeout_s=self.timeout_s)

    def request(self, method: str, path: str, body: Any = None, *, query: Mapping[str, Any] | None = None,
                content_type: str = "application/json", timeout_s: float | None = None) -> Any:
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.credentials.token:
            headers["Authorization"] = f"Bearer {self.credentials.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s, context=self._tls) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                parsed: Obj | str = json.loads(text)
            except ValueError:
                parsed = text
            raise ApiStatus(e.code, method, path, parsed) from e
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            raise ApiStatus(0, method, path, str(e)) from e
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def text(self, path: str) -> str:
        """A plain-text endpoint (``/readyz``, ``/metrics``)."""
        value = self.request("GET", path)
        return value if isinstance(value, str) else json.dumps(value)

    # ---- verbs ---------------------------------------------------------------------------------
    def get(self, path: str) -> Obj:
        return dict(self.request("GET", path))

    def list(self, path: str, **query: str) -> list[Obj]:
        return list(self.request("GET", path, query=query or None).get("items") or [])

    def create(self, path: str, body: Obj) -> Obj:
        return dict(self.request("POST", path, body))

    def replace(self, path: str, body: Obj) -> Obj:
        return dict(self.request("PUT", path, body))

    def patch(self, path: str, body: Any, patch_type: str = "merge") -> Obj:
        return dict(self.request("PATCH", path, body, content_type=PATCH_TYPES[patch_type]))

    def delete(self, path: str, *, grace_period_s: int | None = None, missing_ok: bool = True) -> None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if grace_period_s is not None:
            body["gracePeriodSeconds"] = grace_period_s
        try:
            self.request("DELETE", path, body)
        except ApiStatus as e:
            if not (missing_ok and e.code == 404):
                raise

    def apply(self, path: str, body: Obj, *, manager: str = "chaos-agent-tests") -> Obj:
        """Server-side apply of ``body`` at ``path`` (the object's own path, with its name)."""
        return dict(self.request("PATCH", path, body, query={"fieldManager": manager, "force": "true"},
                                 content_type="application/apply-patch+yaml"))


def wait_until(probe: Callable[[], T | None], *, timeout_s: float, what: str, interval_s: float = 0.2,
               detail: Callable[[], str] | None = None) -> T:
    """Poll ``probe`` until it returns something truthy; an ``ApiStatus`` counts as not yet."""
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while True:
        try:
            value = probe()
            if value:
                return value
        except ApiStatus as e:
            last_error = str(e)
        if time.monotonic() >= deadline:
            extra = detail() if detail else ""
            last = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}{last}"
                               + (f"\n{extra}" if extra else ""))
        time.sleep(interval_s)
