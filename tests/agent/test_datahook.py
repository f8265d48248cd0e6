"""agent.datahook: the pipeline-side hook reading the mounted ConfigMap, as the backend writes it."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from agent import datahook
from agent.backends.kubernetes.faults.data import fault_data
from agent.datahook import DataFaultHook, apply_data_faults
from envs.faults import Fault, FaultKind

NOW = 1_800_000_000.0


def _mount(
    folder: Path,
    kind: FaultKind,
    intensity: int = 1,
    target: str = "ml/Deployment/features",
    duration_s: float = 120,
) -> None:
    """Write the ConfigMap's keys as files, as the kubelet projects a ConfigMap volume."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, value in fault_data(Fault(kind, intensity, target, duration_s), "inj-1", NOW).items():
        (folder / key).write_text(value)


def _rows(n: int = 10) -> list[dict[str, object]]:
    return [{"id": f"r{i}", "x": float(i), "y": i * 2, "ok": True, "label": "a"} for i in range(n)]


def test_no_fault_mounted_passes_rows_through(tmp_path: Path) -> None:
    hook = DataFaultHook(folder=tmp_path / "absent", clock=lambda: NOW)
    assert hook.apply(_rows(), namespace="ml", pipeline="features") == _rows()


def test_drift_shifts_numeric_columns_by_sigmas(tmp_path: Path) -> None:
    _mount(tmp_path, FaultKind.DATA_DRIFT, 1)  # 1.5 sigma
    out = DataFaultHook(folder=tmp_path, clock=lambda: NOW).apply(_rows(), namespace="ml", pipeline="features")
    sx = statistics.pstdev(float(i) for i in range(10))
    assert [r["x"] for r in out] == pytest.approx([i + 1.5 * sx for i in range(10)])
    assert [r["id"] for r in out] == [f"r{i}" for i in range(10)] and all(r["ok"] is True for r in out)


def test_corruption_nulls_a_share_of_rows(tmp_path: Path) -> None:
    _mount(tmp_path, FaultKind.CORRUPTED_ROWS, 1)  # 10 %
    out = DataFaultHook(folder=tmp_path, clock=lambda: NOW).apply(_rows(20), namespace="ml", pipeline="features")
    nulled = [r for r in out if all(v is None for v in r.values())]
    assert len(nulled) == 2 and len(out) == 20


def test_delay_holds_batches_back(tmp_path: Path) -> None:
    _mount(tmp_path, FaultKind.DELAYED_INGESTION, 0, duration_s=3600)  # 300 s late
    now = [NOW]
    hook = DataFaultHook(folder=tmp_path, clock=lambda: now[0])
    assert hook.apply(_rows(3), namespace="ml", pipeline="features") == []
    now[0] += 200
    assert hook.apply(_rows(2), namespace="ml", pipeline="features") == [] and hook.held_rows == 5
    now[0] += 100
    assert len(hook.apply([], namespace="ml", pipeline="features")) == 3
    for f in tmp_path.iterdir():  # revert: the ConfigMap is deleted, the volume emptied
        f.unlink()
    assert len(hook.apply(_rows(1), namespace="ml", pipeline="features")) == 3 and hook.held_rows == 0


def test_other_pipelines_and_expired_faults_are_untouched(tmp_path: Path) -> None:
    _mount(tmp_path, FaultKind.CORRUPTED_ROWS, 2, duration_s=60)
    hook = DataFaultHook(folder=tmp_path, clock=lambda: NOW)
    assert hook.apply(_rows(), namespace="ml", pipeline="other") == _rows()
    assert hook.apply(_rows(), namespace="prod", pipeline="features") == _rows()
    late = DataFaultHook(folder=tmp_path, clock=lambda: NOW + 61)
    assert late.apply(_rows(), namespace="ml", pipeline="features") == _rows()


def test_module_function_reads_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _mount(tmp_path, FaultKind.CORRUPTED_ROWS, 2, duration_s=10**9)
    monkeypatch.setenv(datahook.ENV_VAR, str(tmp_path))
    monkeypatch.setattr(datahook, "_default", None)
    out = apply_data_faults(_rows(10), namespace="ml", pipeline="features")
    assert sum(all(v is None for v in r.values()) for r in out) == 3


def test_the_hook_imports_nothing_outside_the_standard_library() -> None:
    import ast

    tree = ast.parse(Path(datahook.__file__).read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    import sys

    assert modules <= set(sys.stdlib_module_names) | {"__future__"}
