"""The data-fault hook a pipeline calls on each batch; standard library only, so any pipeline can vendor it.

Contract: the pipeline's pod mounts the ConfigMap ``chaos-agent-data-fault`` of its namespace as a
volume (``optional: true``) at the folder named by the env var ``CHAOS_AGENT_FAULTS_DIR`` (default
``/etc/chaos-agent/faults``); each key is a file: ``kind``, ``magnitude``, ``target``,
``injection_id``, ``expires_at``. The agent writes it on injection and deletes it on revert; a
fault past ``expires_at`` is ignored even before the kubelet refreshes the volume.

    from agent.datahook import apply_data_faults
    for batch in source:
        batch = apply_data_faults(batch, namespace="ml", pipeline="feature-builder")
        sink.write(batch)

Faults (rows are mappings of column -> value):
- ``data_drift``: every numeric column shifts by ``magnitude`` standard deviations of the batch
  (a constant column by ``magnitude``);
- ``corrupted_rows``: a ``magnitude`` share of the rows (rounded up) has every value nulled;
- ``delayed_ingestion``: batches are held back ``magnitude`` seconds and returned by a later call
  (all of them as soon as the fault is gone).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "CHAOS_AGENT_FAULTS_DIR"
DEFAULT_DIR = "/etc/chaos-agent/faults"
Row = dict[str, Any]


@dataclass(frozen=True)
class ActiveDataFault:
    kind: str
    magnitude: float
    target: str
    injection_id: str
    expires_at: float

    def applies_to(self, namespace: str, pipeline: str) -> bool:
        parts = self.target.split("/")
        return len(parts) == 3 and parts[0] == namespace and parts[2] == pipeline


def read_fault(folder: Path, now: float) -> ActiveDataFault | None:
    """The fault in ``folder``, or None when there is none, it is incomplete, or it has expired."""
    try:
        values = {
            k: (folder / k).read_text().strip() for k in ("kind", "magnitude", "target", "injection_id", "expires_at")
        }
        expires = dt.datetime.strptime(values["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        fault = ActiveDataFault(
            values["kind"],
            float(values["magnitude"]),
            values["target"],
            values["injection_id"],
            expires.timestamp(),
        )
    except (OSError, ValueError):
        return None  # no fault mounted (the usual case), or one caught mid-update by the kubelet
    return fault if fault.expires_at > now else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def drift(rows: Sequence[Mapping[str, Any]], sigmas: float) -> list[Row]:
    out = [dict(r) for r in rows]
    columns = {k for r in rows for k in r}
    for col in sorted(columns):
        present = [r.get(col) for r in rows if r.get(col) is not None]
        if not present or not all(_is_number(v) for v in present):
            continue
        values = [float(v) for v in present if v is not None]
        std = statistics.pstdev(values) if len(values) > 1 else 0.0
        shift = sigmas * (std if std > 0 else 1.0)
        for r in out:
            if r.get(col) is not None:
                r[col] = r[col] + shift
    return out


def corrupt(rows: Sequence[Mapping[str, Any]], share: float, rng: random.Random) -> list[Row]:
    out = [dict(r) for r in rows]
    if not out:
        return out
    count = min(len(out), math.ceil(share * len(out)))
    for i in rng.sample(range(len(out)), count):
        out[i] = dict.fromkeys(out[i])
    return out


@dataclass
class DataFaultHook:
    """Stateful (it holds delayed batches); one per pipeline process."""

    folder: Path = field(default_factory=lambda: Path(os.environ.get(ENV_VAR, DEFAULT_DIR)))
    clock: Callable[[], float] = time.time
    _held: list[tuple[float, list[Row]]] = field(default_factory=list)
    _batches: int = 0

    def apply(self, rows: Sequence[Mapping[str, Any]], *, namespace: str, pipeline: str) -> list[Row]:
        now = self.clock()
        fault = read_fault(self.folder, now)
        if fault is not None and not fault.applies_to(namespace, pipeline):
            fault = None
        self._batches += 1
        out = [dict(r) for r in rows]
        if fault is not None and fault.kind == "data_drift":
            out = drift(out, fault.magnitude)
        elif fault is not None and fault.kind == "corrupted_rows":
            out = corrupt(out, fault.magnitude, random.Random(f"{fault.injection_id}:{self._batches}"))
        elif fault is not None and fault.kind == "delayed_ingestion":
            self._held.append((now + fault.magnitude, out))
            out = []
        delaying = fault is not None and fault.kind == "delayed_ingestion"
        released = [batch for due, batch in self._held if not delaying or due <= now]
        self._held = [(due, batch) for due, batch in self._held if delaying and due > now]
        return [row for batch in released for row in batch] + out

    @property
    def held_rows(self) -> int:
        return sum(len(batch) for _due, batch in self._held)


_default: DataFaultHook | None = None


def apply_data_faults(rows: Sequence[Mapping[str, Any]], *, namespace: str, pipeline: str) -> list[Row]:
    """Apply the active data fault (if any, and if it targets this pipeline) to one batch."""
    global _default
    if _default is None:
        _default = DataFaultHook()
    return _default.apply(rows, namespace=namespace, pipeline=pipeline)
