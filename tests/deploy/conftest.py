"""Fixtures for the deployment tests: every kustomization rendered once per session."""

from __future__ import annotations

import pytest
from deploy_manifests import KUSTOMIZATIONS, Manifest, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every kustomization's objects, keyed as in KUSTOMIZATIONS."""
    return {name: render(path) for name, path in KUSTOMIZATIONS.items()}
