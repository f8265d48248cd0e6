"""A missing kubectl or checkov skips the deployment tests on a workstation and fails them in CI."""

from __future__ import annotations

import pytest
from deploy_manifests import require_tool

ABSENT = "chaos-agent-no-such-tool"


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"{ABSENT} is not installed.*CI=true"):
        require_tool(ABSENT)


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=f"{ABSENT} is not installed"):
        require_tool(ABSENT)


def test_present_tool_is_found() -> None:
    assert require_tool("python").endswith("python")
