"""Findings grouped into weaknesses: one per root cause, severity from SLO impact and path importance, and on the
built-in scenarios one weakness per planted weakness that the design basis can reach."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from envs.design_basis import classify
from envs.experiment import Timing
from envs.faults import Fault, FaultKind
from envs.scenarios import builtin, score_finding
from envs.spec import Call, ClusterSpec, Slo
from envs.symptoms import symptoms_of
from envs.weaknesses import Case, RootCause, assess
from envs.weaknesses.sweep import design_basis_sweep
from envs.weaknesses.verify import run
from tests.envs.sim.sim_specs import NS, deployment, nodes, service

F = FaultKind
TIMING = Timing()


def cases(spec: ClusterSpec, faults: list[tuple[Fault, ...]], seed: int = 1) -> list[Case]:
    out = []
    for fs in faults:
        result = run(spec, fs, seed=seed, timing=TIMING)
        assert result is not None
        for s in symptoms_of(result):
            out.append(Case(f"F-{len(out)}", s.violation, s.faults, s.affected, s.worst, result.footprint, s.severity))
    return out


def shop() -> ClusterSpec:
    """main (busy entry) -> cfg (one replica, critical); side (quiet entry) -> slow (a critical call with a long
    timeout under a tight latency objective)."""
    main = deployment("main", 3, calls=(Call(f"{NS}/Service/cfg", timeout_ms=300.0),))
    side = deployment("side", 3, calls=(Call(f"{NS}/Service/slow", timeout_ms=2000.0, retries=1),))
    svcs = (service("main", entry=True, load=300.0), replace(service("side", entry=True, load=30.0),
                                                                slo=Slo(0.99, 400.0)),
            service("cfg"), service("slow"))
    workloads = tuple(replace(w, capacity_rps_per_pod=3000.0)
                      for w in (main, side, deployment("cfg", 1), deployment("slow", 3)))
    return ClusterSpec("shop", nodes(5), workloads, svcs)


def test_one_weakness_however_many_faults_show_it() -> None:
    spec = shop()
    cfg = f"{NS}/Deployment/cfg"
    faults = [(Fault(F.POD_KILL, 0, cfg),), (Fault(F.CONTAINER_CRASH, 2, cfg),), (Fault(F.POD_EVICTION, 0, cfg),),
              (Fault(F.NETWORK_PARTITION, 0, cfg),), (Fault(F.NETWORK_LOSS, 0, cfg),)]
    a = assess(spec, cases(spec, faults))
    [w] = [w for w in a.weaknesses if w.locus == cfg]
    assert len(w.findings) == 5 and w.cause is RootCause.SINGLE_REPLICA_ON_PATH
    assert {x.cause for x in w.aspects} == {RootCause.SINGLE_REPLICA_ON_PATH, RootCause.NO_FALLBACK}
    assert "single replica" in w.title and "no fallback" in w.title
    assert w.slos == (f"{NS}/Service/main availability >= 0.99",)
    assert w.id.startswith("W-") and len(a.weaknesses) == 1


def test_a_single_point_of_failure_on_the_main_path_outranks_a_slow_tail_on_a_side_path() -> None:
    spec = shop()
    faults = [(Fault(F.NETWORK_LATENCY, 1, f"{NS}/Deployment/slow"),), (Fault(F.POD_KILL, 0, f"{NS}/Deployment/cfg"),)]
    a = assess(spec, cases(spec, faults))
    spof, tail = a.weaknesses
    assert spof.locus == f"{NS}/Deployment/cfg" and tail.locus == f"{NS}/Deployment/slow"
    assert spof.importance == 1.0 and tail.importance < 0.6
    assert spof.severity > tail.severity and spof.severity_label == "critical"
    assert tail.severity_label in ("low", "medium")


def test_beyond_design_basis_breaches_are_impact_with_the_reason() -> None:
    spec = shop()
    a = assess(spec, cases(spec, [(Fault(F.POD_KILL, 2, f"{NS}/Deployment/main"),)]))
    assert a.weaknesses == ()
    [impact] = {i.violation: i for i in a.impacts}.values()
    assert impact.violation == "availability" and "3 of 3 pod(s)" in impact.reason
    assert a.diagnoses[impact.finding].cause is None


def _reachable(scenario: str) -> tuple[set[str], set[str]]:
    """Planted classes the design basis must surface (canonical trigger within it, p = 1) and the rest that it
    may (state-dependent or flaky ones, reached or not depending on the cluster's state)."""
    sc = builtin(scenario)
    must, may = set(), set()
    for w in sc.weaknesses:
        canonical = [Fault(min(r.kinds), r.min_intensity, r.target) for r in w.triggers[0].requires]
        if not classify(canonical, sc.spec).within:
            continue
        (must if w.p >= 1.0 else may).add(w.class_id)
    return must, may


@pytest.mark.parametrize("scenario", ["ml-platform", "storefront"])
def test_on_the_built_ins_each_reachable_planted_weakness_is_exactly_one_weakness(scenario: str) -> None:
    sc = builtin(scenario)
    sweep = design_basis_sweep(sc.spec, seeds=(1, 2))
    majority = {}
    for w in sweep.assessment.weaknesses:
        cs = [sweep.cases[f] for f in w.findings]
        classes = Counter(score_finding(sc, c.faults, c.violation, c.affected) for c in cs)
        assert None not in classes, f"{w.title}: a finding no planted weakness explains"
        majority[w.id] = classes.most_common(1)[0][0]
    must, may = _reachable(scenario)
    found = list(majority.values())
    assert len(found) == len(set(found)), f"two weaknesses for one planted weakness: {majority}"
    assert must <= set(found) <= must | may
    assert not [w for w in sweep.assessment.weaknesses if w.cause is RootCause.UNEXPLAINED]
