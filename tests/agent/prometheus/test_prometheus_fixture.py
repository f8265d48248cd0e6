"""The server fixture's contract: a missing binary skips locally and fails in CI; backfill text is valid."""

from __future__ import annotations

import pytest

from tests.servers.prometheus import Sample, openmetrics_text, require_binary


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_binary("prometheus")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_binary("prometheus")


def test_openmetrics_text_groups_families_sorts_points_and_ends_with_eof() -> None:
    text = openmetrics_text([
        Sample("a", {"x": 'q"uote'}, 2.0, 20.0),
        Sample("a", {"x": 'q"uote'}, 1.0, 10.0),
        Sample("b", {}, float("inf"), 10.0),
    ])
    assert text.splitlines() == [
        "# TYPE a gauge", 'a{x="q\\"uote"} 1.0 10.000', 'a{x="q\\"uote"} 2.0 20.000',
        "# TYPE b gauge", "b{} +Inf 10.000", "# EOF",
    ]
