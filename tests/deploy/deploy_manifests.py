"""Helpers for the deployment tests: render the kustomizations with `kubectl kustomize`, find objects.

kubectl and checkov are real tools the tests need; without them the tests skip, except in CI
(CI=true), where a missing tool fails the run instead of hiding the checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dry-run", "enabled", "game-day")
EXAMPLES = ("with-servicemonitor", "data-faults", "namespaced")
# Every kustomization a user may apply, by a short name.
KUSTOMIZATIONS: dict[str, Path] = {
    **{name: DEPLOY / "overlays" / name for name in OVERLAYS},
    **{f"example/{name}": DEPLOY / "examples" / name for name in EXAMPLES},
}

Manifest = dict[str, Any]


def require_tool(name: str) -> str:
    """The path of a command-line tool; skip without it, or fail when CI=true."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed (needed to check the deployment manifests)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true, so a missing tool is an error")
        pytest.skip(message)
    return found


def render(path: Path) -> list[Manifest]:
    kubectl = require_tool("kubectl")
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {path.relative_to(REPO)} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(objects: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_templates(objects: list[Manifest]) -> list[tuple[str, Manifest]]:
    """(workload name, pod template) of every StatefulSet, Deployment and CronJob: every agent pod it runs."""
    specs = [(o["metadata"]["name"], o["spec"]["template"])
             for kind in ("StatefulSet", "Deployment") for o in find(objects, kind)]
    specs += [(o["metadata"]["name"], o["spec"]["jobTemplate"]["spec"]["template"])
              for o in find(objects, "CronJob")]
    return specs
