"""What scripts/build-control-plane makes from Go modules, found for the tests: the control plane's binaries
and Chaos Mesh's CustomResourceDefinitions. The script is the one place that knows the versions, the
cache's layout and how to fetch; this module only asks it.

``control_plane_bin()`` is the bin folder of the build (``--where``: the exact cache key of the committed
modules, not any older build). ``cached_binary(name)`` is one binary from it (kube-apiserver, kubectl,
helm, ...). ``chaos_mesh_crd(plural)`` reads one of Chaos Mesh's own CRDs, unmodified from its Go module,
which ``--crds`` fetches when missing (about 20 s the first time on a machine, no build), so tests check
the objects the agent builds against the real schemas, never a hand-written copy. The ``require_*``
forms skip a test when something is missing, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build-control-plane"


class ControlPlaneMissing(RuntimeError):
    pass


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the test's real components are required)")
    pytest.skip(reason)


def _ask_build(mode: str, timeout_s: float) -> tuple[int, Path | None, str]:
    """(exit code, the folder the script printed last, its stderr) of ``build-control-plane MODE``."""
    if shutil.which("go") is None:  # the cache is keyed by Go's version, among others
        raise ControlPlaneMissing("go is not installed: the test control plane is built from Go modules (Go >= 1.26)")
    done = subprocess.run([str(BUILD), mode], capture_output=True, text=True, timeout=timeout_s, check=False)
    lines = done.stdout.strip().splitlines()
    return done.returncode, Path(lines[-1]) if lines else None, done.stderr.strip()


def control_plane_bin() -> Path:
    """The built binaries' folder; ``ControlPlaneMissing`` with the build command when absent."""
    code, where, errors = _ask_build("--where", 60)
    if code != 0 or where is None:
        raise ControlPlaneMissing(
            "the test control plane is not built: run scripts/build-control-plane (15 to 60 min cold on 2 cores; "
            f"scripts/bootstrap dev does it) {errors[-300:]}")
    return where


def cached_binary(name: str) -> Path | None:
    """``name`` from the control-plane build of the committed modules, or None."""
    try:
        _code, where, _errors = _ask_build("--where", 60)  # prints the folder even when a binary is missing
    except ControlPlaneMissing:
        return None
    binary = where / name if where is not None else None
    return binary if binary is not None and os.access(binary, os.X_OK) else None


def require_cached_binary(name: str) -> Path:
    found = cached_binary(name)
    if found is None:
        _missing(f"{name} is not in the control-plane build's bin folder: run scripts/build-control-plane "
                 "(see docs/development.md)")
        raise AssertionError("unreachable")
    return found


@functools.cache
def chaos_mesh_crds() -> Path:
    """The folder of Chaos Mesh's CRDs (fetched through the Go module proxy when missing)."""
    try:
        code, where, errors = _ask_build("--crds", 600)
    except ControlPlaneMissing as e:
        _missing(str(e))
        raise
    if code != 0 or where is None:
        _missing(f"scripts/build-control-plane --crds could not fetch Chaos Mesh's CRDs: {errors[-500:]}")
        raise AssertionError("unreachable")
    return where


@functools.cache
def chaos_mesh_crd(plural: str) -> dict[str, Any]:
    """Chaos Mesh's CRD of ``plural`` (networkchaos, stresschaos, podchaos), from its Go module."""
    file = chaos_mesh_crds() / f"chaos-mesh.org_{plural}.yaml"
    if not file.exists():
        _missing(f"{file} is not among the CRDs scripts/build-control-plane fetches (crd_kinds there)")
    crd: dict[str, Any] = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return crd
