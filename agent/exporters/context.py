"""What an exporter is built from, besides its own [exporters.<name>] table: the HTTP retry policy the
exporters share and where their secrets come from. Each exporter's ``from_settings`` takes one."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigError
from agent.exporters.http import JsonHttp, RetryPolicy
from agent.exporters.secrets import Secret, load_secret


@dataclass(frozen=True)
class ExporterContext:
    policy: RetryPolicy
    environ: Mapping[str, str] | None
    """Where ``*_env`` secrets are read; None: the process environment."""
    sleep: Callable[[float], None]
    rng: random.Random

    def http(self, service: str, url: str, headers: Callable[[], Mapping[str, str]] = dict,
             secrets: tuple[Secret, ...] = ()) -> JsonHttp:
        """A client for ``url``; ``headers`` is called per request, and ``secrets`` are redacted from messages."""
        return JsonHttp(service=service, base_url=url, headers=headers, secrets=secrets, policy=self.policy,
                        sleep=self.sleep, rng=self.rng)

    def secret(self, key: str, *, env: str | None, file: Path | None) -> Secret | None:
        return load_secret(key=key, env=env, file=file, environ=self.environ)

    def required_secret(self, key: str, *, env: str | None, file: Path | None) -> Secret:
        found = self.secret(key, env=env, file=file)
        if found is None:  # the config refuses this already; kept for settings built in code
            raise ConfigError(f"{key}_env or {key}_file is required")
        return found
