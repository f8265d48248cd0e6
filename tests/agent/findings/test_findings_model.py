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
    worst = avail.evidence.breach
    assert worst.before == 1.0 and worst.worst == 0.4 and worst.threshold == 0.99
    assert worst.detect_s == 15.0 and worst.recover_s == 30.0
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
    assert merged.evidence.breach.worst == 0.2 and merged.severity == worse.severity
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


def test_the_env_and_the_store_recognise_the_same_finding_by_one_key() -> None:
    """One grouping and one key: the env's novelty and the findings store agree on every symptom."""
    from envs.actions import Action
    from tests.envs.test_chaos_env import BACK, make_env

    env = make_env()
    env.reset(seed=0)
    _, _, _, _, info = env.step(Action(env.targets.index(BACK), FaultKind.POD_KILL, 0, False).encode())
    symptoms = info["all_findings"]
    stored = findings_from_result(info["result"], injection_index=1, seen_at=T0)
    assert symptoms and sorted(s.key for s in symptoms) == sorted(f.signature for f in stored)
    assert {s.affected for s in symptoms} == {f.affected for f in stored}
    # the same fault kind on the same target again is the same finding for both
    _, _, _, _, again = env.step(Action(env.targets.index(BACK), FaultKind.POD_KILL, 0, False).encode())
    assert again["findings"] == [] and {s.key for s in again["all_findings"]} <= {f.signature for f in stored}


def test_evidence_is_the_worst_breach_and_keeps_the_footprint_through_the_store_format() -> None:
    from envs.footprint import Touch

    f = findings_from_result(result(), injection_index=0, seen_at=T0)[0]
    touched = (Touch(Fault(FaultKind.POD_KILL, 2, API), API, 3, 3),)
    f = replace(f, evidence=replace(f.evidence, footprint=touched))
    back = Finding.from_report_dict(json.loads(json.dumps(f.to_report_dict())))
    assert back.evidence.breach.violation == f.violation and back.evidence.breach.subject in f.affected
    assert back.evidence.footprint == touched and back == f
    # rows written before evidence named its subject or footprint still load
    old = f.to_report_dict()
    del old["evidence"]["subject"], old["evidence"]["footprint"]
    legacy = Finding.from_report_dict(old)
    assert legacy.evidence.breach.subject == f.affected[0] and legacy.evidence.footprint == ()
