"""Errors of the Kubernetes API, mapped from HTTP status, under ``agent.errors.BackendError``.

Messages carry the API server's own message, cut short: a Status body can embed whole objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agent.errors import BackendError

MAX_PAYLOAD_CHARS = 300


def cut(text: str, limit: int = MAX_PAYLOAD_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more chars)"


class KubernetesApiError(BackendError):
    """The API server answered with an error status (or could not be reached: status 0)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        method: str = "",
        path: str = "",
        causes: tuple[Mapping[str, str], ...] = (),
    ) -> None:
        where = f"{method} {path}: " if method else ""
        super().__init__(f"{where}{status or ''} {reason} {cut(message)}".replace("  ", " ").strip())
        self.status = status
        self.reason = reason
        self.api_message = cut(message)
        self.causes = causes


class BadRequest(KubernetesApiError):
    """400/422: the request itself is wrong; retrying does not help."""


class Unauthorized(KubernetesApiError):
    """401/403: the agent's credentials or RBAC do not allow this; see docs/operator-kubernetes.md."""


class NotFound(KubernetesApiError):
    """404."""


class Conflict(KubernetesApiError):
    """409: already exists, or the object changed since it was read (resourceVersion precondition)."""


class Gone(KubernetesApiError):
    """410: a watch's resourceVersion or a list's continue token is older than the server's history."""


class TooManyRequests(KubernetesApiError):
    """429: the server asks to slow down; ``retry_after`` seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class DisruptionBudgetRefused(TooManyRequests):
    """429 to an eviction: a PodDisruptionBudget forbids it. Not a rate limit, never retried."""

    @property
    def pdb_name(self) -> str | None:
        for cause in self.causes:
            text = cause.get("message", "")
            if cause.get("reason") == "DisruptionBudget" and text.startswith("The disruption budget "):
                return text.removeprefix("The disruption budget ").split(" ", 1)[0]
        return None


class ServerError(KubernetesApiError):
    """5xx."""


class Unreachable(KubernetesApiError):
    """No answer: connection refused or reset, or a timeout."""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date; rare from the API server, back-off applies instead


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, method: str, path: str
) -> KubernetesApiError:
    """The error for a non-2xx answer, read from its ``Status`` body when it has one."""
    reason, message = "", body.decode("utf-8", "replace")
    causes: tuple[dict[str, str], ...] = ()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and payload.get("kind") == "Status":
        reason = str(payload.get("reason", ""))
        message = str(payload.get("message", ""))
        details = payload.get("details") or {}
        causes = tuple(c for c in details.get("causes") or [] if isinstance(c, dict))
    kw: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "method": method,
        "path": path,
        "causes": causes,
    }
    if status == 429:
        if any(c.get("reason") == "DisruptionBudget" for c in causes):
            return DisruptionBudgetRefused(message, **kw)
        return TooManyRequests(message, retry_after=_retry_after(headers), **kw)
    cls: type[KubernetesApiError] = {
        400: BadRequest,
        422: BadRequest,
        401: Unauthorized,
        403: Unauthorized,
        404: NotFound,
        409: Conflict,
        410: Gone,
    }.get(status, ServerError if status >= 500 else KubernetesApiError)
    return cls(message, **kw)


class StillTerminating(BackendError):
    """A revert deleted an object, but a finalizer still holds it when the wait ends: the fault it stands
    for may not be undone yet. The revert counts as failed; the daemon's sweep tries again."""
