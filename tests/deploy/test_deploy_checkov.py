"""checkov passes on every rendered kustomization and the Dockerfile, with only documented skips.

checkov runs twice per session on all of them at once (a few seconds each): with deploy/.checkov.yaml,
where nothing may fail; and without its skips, where exactly the skipped checks must fail, so a skip
that is no longer needed is noticed. Each skip must be justified in docs/deployment.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_manifests import DEPLOY, KUSTOMIZATIONS, REPO, render, require_tool

CONFIG = DEPLOY / ".checkov.yaml"
FRAMEWORKS = {"kubernetes", "dockerfile"}


def skipped_checks() -> list[str]:
    return list(yaml.safe_load(CONFIG.read_text()).get("skip-check", []))


def run_checkov(checkov: str, folder: Path, *options: str) -> dict[str, dict[str, Any]]:
    """checkov's JSON reports by framework. It runs in `folder`, so no stray .checkov.yaml is read,
    and offline: no guideline download, no update check (tests talk only to 127.0.0.1)."""
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run([checkov, "-d", str(folder), "--output", "json", "--skip-download", *options],
                            capture_output=True, text=True, timeout=300, cwd=folder, env=env, check=False)
    if result.returncode not in (0, 1):  # 1: checks failed, which the tests report in detail
        pytest.fail(f"checkov did not run (exit {result.returncode}):\n{result.stderr[-2000:]}")
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    return {r["check_type"]: r for r in reports}


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    checkov = require_tool("checkov")
    folder = tmp_path_factory.mktemp("checkov")
    for name, path in KUSTOMIZATIONS.items():
        objects = render(path)
        (folder / f"{name.replace('/', '-')}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    shutil.copy(DEPLOY / "Dockerfile", folder / "Dockerfile")
    return {
        "configured": run_checkov(checkov, folder, "--config-file", str(CONFIG)),
        "unskipped": run_checkov(checkov, folder, "--framework", *sorted(FRAMEWORKS)),
    }


def failures(report: dict[str, Any]) -> list[str]:
    results = report.get("results", {})
    return [f"{c['check_id']} {c['check_name']} on {c['resource']} ({Path(c['file_path']).name})"
            for c in results.get("failed_checks", [])]


def test_checkov_passes_with_the_documented_skips(scans: dict[str, dict[str, dict[str, Any]]]) -> None:
    reports = scans["configured"]
    assert set(reports) == FRAMEWORKS, f"checkov scanned {sorted(reports)}"
    for framework, report in reports.items():
        summary = report["summary"]
        assert summary["parsing_errors"] == 0, f"{framework}: checkov could not parse a file"
        assert summary["passed"] > 0 and summary["resource_count"] > 0, f"{framework}: nothing was checked"
        assert not failures(report), f"{framework}: checkov failures:\n" + "\n".join(failures(report))


def test_every_skip_is_still_needed(scans: dict[str, dict[str, dict[str, Any]]]) -> None:
    failing = {c.split()[0] for report in scans["unskipped"].values() for c in failures(report)}
    assert failing == set(skipped_checks()), (
        f"skips no longer needed: {sorted(set(skipped_checks()) - failing)}; "
        f"failing without a skip: {sorted(failing - set(skipped_checks()))}")


def test_every_skip_is_justified() -> None:
    entries = re.finditer(r"^\s*-\s*(CKV\w+)\s*(#.*)?$", CONFIG.read_text(), re.M)
    lines = {m.group(1): m.group(2) for m in entries}
    docs = (REPO / "docs" / "deployment.md").read_text()
    for check in skipped_checks():
        assert lines.get(check), f"{check} is skipped in deploy/.checkov.yaml without a comment saying why"
        row = re.search(rf"^\|\s*`?{check}`?\s*\|[^|]+\|\s*(\S[^|]*)\|", docs, re.M)
        assert row, f"{check} is skipped but docs/deployment.md has no row for it in the checkov table"
