"""Structured JSON logs (structlog): one JSON object per line, UTC timestamps, the injection id bound.

``injection_context(injection_id)`` binds the id through contextvars, so every line logged while a
fault is planned, applied, observed and reverted carries it, in any module, without passing a logger
around. Call ``configure_logging`` once, in the CLI.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, TextIO

import structlog

Level = Literal["debug", "info", "warning", "error"]


def configure_logging(*, level: Level = "info", stream: TextIO | None = None) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream if stream is not None else sys.stderr),
        cache_logger_on_first_use=False,
    )


@contextmanager
def injection_context(injection_id: str, **fields: str) -> Iterator[None]:
    """Bind ``injection_id`` (and e.g. ``target``, ``family``) to every log line inside the block."""
    with structlog.contextvars.bound_contextvars(injection_id=injection_id, **fields):
        yield
