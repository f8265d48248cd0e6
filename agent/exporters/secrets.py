"""Credentials for the exporters: read from an environment variable or a file, never shown.

A ``Secret`` prints as ``***`` in reprs, logs, exceptions and f-strings; only ``reveal()`` gives the
value, at the moment a request header is built. Errors name the variable or file, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from agent.errors import ConfigError

MASK = "***"


class Secret:
    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        if not value:
            raise ConfigError(f"{source} is empty; it must hold the secret")
        self._value = value
        self.source = source
        """Where it came from (``env:NAME`` or ``file:PATH``), safe to show."""

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret masked (for server replies that echo it)."""
        return text.replace(self._value, MASK)

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def load_secret(
    *, key: str, env: str | None, file: Path | None, environ: Mapping[str, str] | None = None
) -> Secret | None:
    """The secret from ``env`` or ``file`` (the config allows at most one); None when neither is set."""
    environ = os.environ if environ is None else environ
    if env is not None:
        value = environ.get(env)
        if value is None:
            raise ConfigError(
                f"{key}_env names the environment variable {env}, which is not set; "
                f"export {env} with the secret before starting the agent"
            )
        return Secret(value.strip(), f"environment variable {env}")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"{key}_file {file} cannot be read ({e.strerror}); "
                "point it to a readable file holding the secret"
            ) from e
        return Secret(text.strip(), f"file {file}")
    return None
