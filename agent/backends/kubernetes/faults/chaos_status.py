"""What Chaos Mesh reports about an object the agent created: injected, failing, or not yet.

Chaos Mesh's records controller selects the targets once (one record per pod, or per container for a
StressChaos), then applies the fault to each, keeping ``status.experiment.containerRecords[].phase``
(``Not Injected`` -> ``Injected``) and, per record, events of type ``Succeeded`` or ``Failed`` with the
operation (``Apply``, ``Recover``) and the error (such as "It's dangerous to inject network chaos on a
pod(ns/name) with `hostNetwork`"). Its condition controller derives ``status.conditions``: ``Selected``
(records exist) and ``AllInjected`` (every record ``Injected``), which lags the records by a reconcile,
so the records are read: each must be ``Injected``, or show an ``injectedCount`` (injected, and already
recovered when ``spec.duration`` was shorter than a poll). Chaos Mesh retries a failed record on its
own; a record whose latest event is a failed ``Apply`` is failing now. A deleted object keeps the
``chaos-mesh/records`` finalizer until every record is recovered: only then is the fault undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agent.backends.kubernetes.api import Obj
from agent.backends.kubernetes.errors import cut

RECORDS_FINALIZER = "chaos-mesh/records"
INJECTED = "Injected"
ProgressState = Literal["injected", "failing", "pending"]


@dataclass(frozen=True)
class ChaosProgress:
    state: ProgressState
    detail: str


def _records(obj: Obj) -> list[Obj]:
    experiment = (obj.get("status") or {}).get("experiment") or {}
    return [r for r in experiment.get("containerRecords") or [] if isinstance(r, dict)]


def _conditions(obj: Obj) -> dict[str, str]:
    return {str(c.get("type")): str(c.get("status")) for c in (obj.get("status") or {}).get("conditions") or []
            if isinstance(c, dict)}


def _failure(record: Obj) -> str | None:
    """The error of the record's latest event when that event is a failed Apply, else None."""
    events = [e for e in record.get("events") or [] if isinstance(e, dict)]
    if not events:
        return None
    latest = events[-1]
    if latest.get("type") == "Failed" and latest.get("operation") == "Apply":
        return cut(str(latest.get("message") or "no message"), 200)
    return None


def _was_injected(record: Obj) -> bool:
    """Injected now, or injected and already recovered (a fault shorter than a poll: ``duration`` over)."""
    try:
        count = int(record.get("injectedCount") or 0)
    except (TypeError, ValueError):
        count = 0
    return record.get("phase") == INJECTED or count > 0


def progress(obj: Obj) -> ChaosProgress:
    """Where the injection of ``obj`` stands, from its status alone."""
    records = _records(obj)
    conditions = _conditions(obj)
    injected = [r for r in records if _was_injected(r)]
    if records and len(injected) == len(records):
        return ChaosProgress("injected", f"Chaos Mesh injected it into {len(records)} target(s)")
    failures = sorted({f"{r.get('id', '?')}: {why}" for r in records if (why := _failure(r)) is not None})
    if failures:
        return ChaosProgress("failing", f"{len(failures)} of {len(records)} target(s) failed: " + "; ".join(failures))
    if not records:
        selected = conditions.get("Selected")
        return ChaosProgress("pending", "Chaos Mesh has selected no target yet"
                             + (f" (condition Selected is {selected})" if selected else " (no status)"))
    phases = sorted({str(r.get("phase")) for r in records if r.get("phase") != INJECTED})
    return ChaosProgress("pending", f"{len(injected)} of {len(records)} target(s) injected; the others are "
                         + ", ".join(phases))


def is_terminating(obj: Obj) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def holds_records(obj: Obj) -> bool:
    return RECORDS_FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or [])


def poll(check: Callable[[], bool], *, timeout_s: float, sleep: Callable[[float], bool],
         clock: Callable[[], float]) -> bool:
    """Call ``check`` until it returns True or ``timeout_s`` passes, pausing 0.1 s doubling to 1 s;
    ``sleep(seconds)`` returns True to stop early. Returns the last check's answer."""
    deadline = clock() + timeout_s
    pause = 0.1
    while True:
        if check():
            return True
        left = deadline - clock()
        if left <= 0 or sleep(min(pause, left)):
            return check()
        pause = min(1.0, pause * 2)
