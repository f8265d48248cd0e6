"""A missing kubectl, checkov or helm skips the deployment tests on a workstation and fails them in CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_manifests import require_tool

from tests.servers.go_modules import require_cached_binary

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


def test_a_missing_cached_binary_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """helm comes from the control-plane build's cache; an empty cache is a failure only with CI=true."""
    monkeypatch.setenv("CHAOS_AGENT_CACHE", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"helm is not in .*CI=true"):
        require_cached_binary("helm")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="helm is not in"):
        require_cached_binary("helm")
    built = tmp_path / "controlplane-k8s-test" / "bin" / "helm"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    assert require_cached_binary("helm") == built
