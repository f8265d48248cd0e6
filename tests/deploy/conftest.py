"""Fixtures for the deployment tests: every kustomization rendered once per session, and the agent's API
calls recorded once per way of confining it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from deploy_manifests import KUSTOMIZATIONS, Manifest, render

from tests.agent.backends.kubernetes.repertoire import Call, record_calls
from tests.emulator.server import KubernetesEmulator


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every kustomization's objects, keyed as in KUSTOMIZATIONS."""
    return {name: render(path) for name, path in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="session")
def recorded() -> Callable[[tuple[str, ...]], list[Call]]:
    """The repertoire's calls (tests/agent/backends/kubernetes/repertoire.py) for the namespaces the agent
    is confined to (empty: cluster-wide), recorded once per session each (about 10 s)."""
    cache: dict[tuple[str, ...], list[Call]] = {}

    def calls(namespaces: tuple[str, ...]) -> list[Call]:
        if namespaces not in cache:
            em = KubernetesEmulator().start()
            try:
                cache[namespaces] = record_calls(em, namespaces=namespaces)
            finally:
                em.stop()
        return cache[namespaces]

    return calls
