"""docs/configuration.md is generated from the settings classes and must be current."""

from __future__ import annotations

from pathlib import Path

from agent.config.reference import render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_reference_is_current() -> None:
    assert DOC.read_text() == render_reference(), "run: chaos-agent config reference --out docs/configuration.md"


def test_reference_names_every_section_and_key() -> None:
    text = render_reference()
    for needle in ("## [cluster]", "## [cluster.simulated]", "`scenario`", "`dry_run`", "`temperature`"):
        assert needle in text
