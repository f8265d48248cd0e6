"""Findings from experiment results: grouping, signature stability, the report shape, merging."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agent.findings import Finding, findings_from_result, render_list, render_show
from envs.cluster import VIOLATIONS
from envs.faults import Fault, FaultKind
from envs.verdict import severity_label
from tests.agent.findings.sample_results import API, FRONTEND, WEB, result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REPORT_KEYS = ["id", "fault", "target", "affected", "violation", "severity", "evidence", "injection_index"]


def test_one_finding_per_violation_grouping_affected_workloads() -> None:
    found = findings_from_result(result(with_latency=True), injection_index=3, seen_at=T0)
    assert sorted(f.violation for f in found) == ["availability", "latency"]
    assert [f.severity for f in found] == sorted((f.severity for f in found), reverse=True)
    avail = next(f for f in found if f.violation == "availability")
    assert avail.affected == (API, WEB)
    assert avail.target == API
    assert avail.hypothesis == f"{FRONTEND} availability >= 0.99"
    assert avail.evidence.before == 1.0 and avail.evidence.worst == 0.4 and avail.evidence.threshold == 0.99
    assert avail.evidence.detect_s == 15.0 and avail.evidence.recover_s == 30.0
    assert avail.severity == round(min(1.0, 0.3 + 1.4 * (0.99 - 0.4)), 3)
    assert avail.severity_label == severity_label(avail.severity)
    assert avail.injection_index == 3 and avail.reproductions == 1
    # the series covers before, during and after, in seconds since the fault started
    assert avail.evidence.series[0] == (-15.0, 1.0)
    assert (15.0, 0.4) in avail.evidence.series and avail.evidence.series[-1] == (165.0, 1.0)


def test_no_breach_no_finding() -> None:
    assert findings_from_result(result(breaches=False), injection_index=0) == []


def test_signature_ignores_intensity_and_numbers_but_not_what_broke() -> None:
    a = findings_from_result(result(intensity=2, worst=0.4), injection_index=0)[0]
    b = findings_from_result(result(intensity=0, worst=0.9, started=5000), injection_index=7)[0]
    assert a.signature == b.signature and a.id == b.id
    other_target = findings_from_result(result(target=WEB), injection_index=0)[0]
    other_kind = findings_from_result(result(kind=FaultKind.NETWORK_LOSS), injection_index=0)[0]
    fewer_affected = findings_from_result(result(subjects=(API,)), injection_index=0)[0]
    two_faults = findings_from_result(
        result(held=(Fault(FaultKind.NODE_DRAIN, 0, "Node/n1"),)), injection_index=0
    )[0]
    assert (
        len(
            {
                a.signature,
                other_target.signature,
                other_kind.signature,
                fewer_affected.signature,
                two_faults.signature,
            }
        )
        == 5
    )


def test_two_fault_finding_names_both_faults() -> None:
    f = findings_from_result(result(held=(Fault(FaultKind.NODE_DRAIN, 1, "Node/n1"),)), injection_index=2)[0]
    assert f.concurrent[0].kind == "node_drain" and f.concurrent[0].target == "Node/n1"
    assert "node_drain" in f.faults_text() and "pod_kill" in f.faults_text()


def test_report_dict_has_the_contract_shape_and_round_trips() -> None:
    f = findings_from_result(result(), injection_index=4, seen_at=T0)[0]
    d = json.loads(json.dumps(f.to_report_dict()))
    assert list(d)[: len(REPORT_KEYS)] == REPORT_KEYS
    assert d["fault"] == {"family": "pod", "kind": "pod_kill", "intensity": 2}
    assert d["violation"] in VIOLATIONS and d["affected"] == [API, WEB] and d["injection_index"] == 4
    assert Finding.from_report_dict(d) == f


def test_merge_keeps_worst_evidence_and_max_intensity() -> None:
    first = findings_from_result(result(intensity=0, worst=0.8), injection_index=1, seen_at=T0)[0]
    worse = findings_from_result(
        result(intensity=2, worst=0.2), injection_index=5, seen_at=T0 + timedelta(hours=1)
    )[0]
    milder = replace(
        findings_from_result(
            result(intensity=1, worst=0.95), injection_index=9, seen_at=T0 + timedelta(hours=2)
        )[0]
    )
    merged = first.merged_with(worse).merged_with(milder)
    assert merged.reproductions == 3
    assert merged.evidence.worst == 0.2 and merged.severity == worse.severity
    assert merged.fault.intensity == 2
    assert merged.first_seen == T0 and merged.last_seen == T0 + timedelta(hours=2)
    assert merged.injection_index == 1 and merged.last_injection_index == 9


def test_rendering_lists_and_shows_the_essentials() -> None:
    found = findings_from_result(result(with_latency=True), injection_index=0, seen_at=T0)
    table = render_list(found)
    header, *rows = table.splitlines()
    assert header.split() == ["ID", "SEVERITY", "VIOLATION", "FAULT", "TARGET", "AFFECTED", "SEEN"]
    assert len(rows) == 2 and rows[0].startswith(found[0].id)
    assert "pod_kill[high] on shop/Deployment/api" in table
    avail = next(f for f in found if f.violation == "availability")
    page = render_show(avail)
    assert avail.hypothesis in page and "1 / 0.4 / 1" in page and "recovered after revert 30 s" in page
    assert render_list([]) == "no findings yet\n"
