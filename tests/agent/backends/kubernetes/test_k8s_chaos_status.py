"""Reading Chaos Mesh's status: what counts as injected, failing or not yet, from the records its
controllers write (chaos-mesh controllers/common/records and condition)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.backends.kubernetes.faults.chaos_status import progress


def chaos(*records: dict[str, Any], all_injected: str = "False", selected: str | None = None) -> dict[str, Any]:
    conditions = [{"type": "AllInjected", "status": all_injected}]
    if selected is not None:
        conditions.append({"type": "Selected", "status": selected})
    return {"status": {"conditions": conditions, "experiment": {"containerRecords": list(records)}}}


def record(pod: str, phase: str, injected: int = 0, events: tuple[tuple[str, str, str], ...] = ()) -> dict[str, Any]:
    return {"id": f"shop/{pod}", "phase": phase, "injectedCount": injected, "recoveredCount": 0,
            "selectorKey": ".", "events": [{"type": t, "operation": o, "message": m, "timestamp": "x"}
                                           for t, o, m in events]}


@pytest.mark.parametrize(("obj", "state", "detail"), [
    ({}, "pending", "Chaos Mesh has selected no target yet (no status)"),
    (chaos(selected="False"), "pending", "selected no target yet (condition Selected is False)"),
    (chaos(record("a", "Injected", 1), record("b", "Not Injected")), "pending",
     "1 of 2 target(s) injected; the others are Not Injected"),
    (chaos(record("a", "Injected", 1), record("b", "Injected", 1), all_injected="True"), "injected",
     "Chaos Mesh injected it into 2 target(s)"),
    # AllInjected lags the records by a reconcile: the records decide
    (chaos(record("a", "Injected", 1)), "injected", "into 1 target(s)"),
    # a fault shorter than a poll: injected, then recovered by its duration
    (chaos(record("a", "Not Injected", 1)), "injected", "into 1 target(s)"),
    (chaos(record("a", "Not Injected/Wait", 0, (("Failed", "Apply", "It's dangerous ... `hostNetwork`"),)),
           record("b", "Injected", 1)), "failing", "1 of 2 target(s) failed: shop/a: It's dangerous"),
    # a failure Chaos Mesh has since got past is no failure
    (chaos(record("a", "Not Injected/Wait", 0, (("Failed", "Apply", "daemon busy"), ("Succeeded", "Apply", "")))),
     "pending", "0 of 1"),
])
def test_progress(obj: dict[str, Any], state: str, detail: str) -> None:
    got = progress(obj)
    assert got.state == state and detail in got.detail, got
