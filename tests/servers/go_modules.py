"""Files of public Go modules, fetched through the Go module proxy, and binaries of the test control plane.

``module_dir(path, version)`` runs ``go mod download -json PATH@VERSION`` into a module cache outside
the repository (``$CHAOS_AGENT_CACHE/gomod``, by default ``~/.cache/chaos-agent/gomod``) and returns
the unpacked module's folder: the first call downloads it (about 20 s for Chaos Mesh's 23 MB), a
second costs 0.06 s. ``chaos_mesh_crd(plural)`` reads one of Chaos Mesh's own CustomResourceDefinitions
(``config/crd/bases``) from its module, so tests check the objects the agent builds against the real
schemas, never a hand-written copy.

``cached_binary(name)`` finds a binary the control-plane build put in
``$CHAOS_AGENT_CACHE/controlplane-<key>/bin/`` (kube-apiserver, kubectl, helm, ...), the newest build
first. ``require_cached_binary`` and ``require_module_dir`` skip a test without it, except under
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

CHAOS_MESH_MODULE = "github.com/chaos-mesh/chaos-mesh"
CHAOS_MESH_VERSION = "v0.9.1-0.20260902003049-47411975a8cb"
"""Chaos Mesh's master of 2026-09-02 (commit 47411975a8cb): its tags are v2.x without a /v2 module path,
so the proxy serves it by pseudo-version only."""


def cache_root() -> Path:
    return Path(os.environ.get("CHAOS_AGENT_CACHE") or Path.home() / ".cache" / "chaos-agent")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the test's real components are required)")
    pytest.skip(reason)


def module_dir(path: str, version: str) -> Path:
    """The unpacked folder of Go module ``path@version``; raises RuntimeError when it cannot be fetched."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the go command is not installed (Go 1.26 fetches the module from the proxy)")
    env = {**os.environ, "GOMODCACHE": str(cache_root() / "gomod"), "GOFLAGS": "-modcacherw",
           "GO111MODULE": "on"}
    cache_root().mkdir(parents=True, exist_ok=True)  # outside any go.mod: no module of ours is read
    result = subprocess.run([go, "mod", "download", "-json", f"{path}@{version}"], capture_output=True,
                            text=True, timeout=600, env=env, cwd=cache_root(), check=False)
    try:
        info: dict[str, Any] = json.loads(result.stdout)
    except ValueError as e:
        raise RuntimeError(f"go mod download {path}@{version} failed: {result.stderr.strip()[-500:]}") from e
    if info.get("Error") or not info.get("Dir"):
        raise RuntimeError(f"go mod download {path}@{version} failed: {info.get('Error')}")
    return Path(info["Dir"])


def require_module_dir(path: str, version: str) -> Path:
    try:
        return module_dir(path, version)
    except RuntimeError as e:
        _missing(str(e))
        raise


@functools.cache
def chaos_mesh_crd(plural: str) -> dict[str, Any]:
    """Chaos Mesh's CRD of ``plural`` (networkchaos, stresschaos, ...), from its Go module."""
    bases = require_module_dir(CHAOS_MESH_MODULE, CHAOS_MESH_VERSION) / "config" / "crd" / "bases"
    file = bases / f"chaos-mesh.org_{plural}.yaml"
    if not file.exists():
        _missing(f"Chaos Mesh {CHAOS_MESH_VERSION} has no CRD file {file.name}")
    crd: dict[str, Any] = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return crd


def cached_binary(name: str) -> Path | None:
    """``name`` from the newest control-plane build in the cache, or None."""
    candidates = [p for p in cache_root().glob(f"controlplane-*/bin/{name}") if os.access(p, os.X_OK)]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def require_cached_binary(name: str) -> Path:
    found = cached_binary(name)
    if found is None:
        _missing(f"{name} is not in {cache_root()}/controlplane-*/bin (built by the control-plane build, "
                 "see docs/development.md)")
        raise AssertionError("unreachable")
    return found
