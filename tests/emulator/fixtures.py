"""pytest fixtures: ``k8s_emulator`` (on 127.0.0.1) and ``k8s_emulator_chaos_mesh`` (with its CRDs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator.server import KubernetesEmulator


@pytest.fixture
def k8s_emulator() -> Iterator[KubernetesEmulator]:
    emulator = KubernetesEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def k8s_emulator_chaos_mesh() -> Iterator[KubernetesEmulator]:
    emulator = KubernetesEmulator(chaos_mesh=True).start()
    try:
        yield emulator
    finally:
        emulator.stop()
