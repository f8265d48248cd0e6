"""JSON logs carry the injection id bound through contextvars, and only inside its block."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from agent.service.logging import configure_logging, injection_context


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


def test_injection_id_is_bound_inside_the_context_only() -> None:
    configure_logging(level="debug")
    log = structlog.get_logger("agent.test")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        log.info("planned")
        with injection_context("inj-42", target="shop/Deployment/web"):
            log.info("applied", fault="pod_kill")
            with injection_context("inj-43"):
                log.warning("nested")
            log.info("reverted")
        log.info("idle")
    assert [(e["event"], e.get("injection_id")) for e in logs] == [
        ("planned", None), ("applied", "inj-42"), ("nested", "inj-43"), ("reverted", "inj-42"),
        ("idle", None)]
    assert logs[1]["target"] == "shop/Deployment/web" and logs[1]["fault"] == "pod_kill"


def test_output_is_one_json_object_per_line_with_level_and_utc_time() -> None:
    out = io.StringIO()
    configure_logging(level="info", stream=out)
    log = structlog.get_logger("agent.test")
    with injection_context("inj-7"):
        log.info("applied", target="ns/Deployment/a")
        log.debug("hidden below the level")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    assert lines[0]["injection_id"] == "inj-7" and lines[0]["level"] == "info"
    assert lines[0]["timestamp"].endswith("Z")
    assert "injection_id" not in lines[1]
    assert lines[1]["exception"][0]["exc_type"] == "ValueError"
