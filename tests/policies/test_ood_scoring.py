"""Answer keys are checked field by field; a finding is scored by the design basis, the key's reveal
requirements and its decoys; a game day counts repetitions; the benchmark command reports every case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.cli import main
from envs.actions import Action
from envs.faults import Fault, FaultKind
from envs.twin import spec_from_objects
from policies.base import Decision, Outcome
from policies.ood import AnswerKeyError, load_suite, parse_answer_key, play_case, run_ood, score
from tests.policies.test_static_rules import APP

KEY = """
schema = 1
case = "shop"
shape = "microservice-shop"
annotations = "chaos-agent"

[[weakness]]
id = "auth-single"
kind = "single_replica_on_path"
root = ["shop/Deployment/auth"]
affected = ["shop/Deployment/web"]
violations = ["availability"]
why = "one pod"
reveal = [
  { kinds = ["pod_kill"], target = "shop/Deployment/auth" },
  { kinds = ["node_failure"], node_of = "shop/Deployment/auth" },
]

[[weakness]]
id = "api-zone"
kind = "colocated_replicas"
root = ["shop/Deployment/api"]
affected = ["shop/Deployment/web"]
violations = ["availability", "latency"]
why = "both replicas in one zone"
reveal = [{ kinds = ["node_failure"], node_of = "shop/Deployment/api", min_nodes = 2 }]

[[decoy]]
target = "shop/StatefulSet/store"
flagged_for = "one replica"
why = "cached"
"""


@pytest.fixture(scope="module")
def spec():  # type: ignore[no-untyped-def]
    return spec_from_objects(list(yaml.safe_load_all(APP)), name="shop")


def test_a_key_is_read_with_its_fields() -> None:
    key = parse_answer_key(KEY, source="k.toml")
    assert [w.id for w in key.weaknesses] == ["auth-single", "api-zone"]
    assert key.weaknesses[1].reveal[0].min_nodes == 2 and key.decoys[0].target == "shop/StatefulSet/store"
    assert "shop/Deployment/api" in key.workloads


@pytest.mark.parametrize(("change", "message"), [
    (("single_replica_on_path", "single_replica"), "weakness[0].kind must be a known root cause"),
    (('violations = ["availability"]', 'violations = ["outage"]'), "weakness[0].violations must name violations"),
    (('{ kinds = ["pod_kill"], target', '{ kinds = ["pod_kil"], target'), "weakness[0].reveal[0].kinds must name"),
    (('{ kinds = ["pod_kill"], target', '{ kinds = ["node_drain"], target'), "which targets a node, with target"),
    (('target = "shop/Deployment/auth" }', 'node_of = "shop/Deployment/auth", target = "shop/Deployment/auth" }'),
     "needs exactly one of target, node_of and node_label"),
    (('id = "api-zone"', 'id = "auth-single"'), "id 'auth-single' is used twice"),
    (('root = ["shop/Deployment/auth"]', 'root = ["auth"]'), "root must be a workload key"),
    (('why = "cached"', 'why = "cached"\nseverity = 3'), "decoy[0].severity is not a field"),
    (("schema = 1", "schema = 2"), "schema must be 1"),
    (('min_nodes = 2', 'min_nodes = 0'), "min_nodes must be a whole number >= 1"),
])
def test_a_bad_key_is_one_line_naming_the_entry_and_field(change: tuple[str, str], message: str) -> None:
    with pytest.raises(AnswerKeyError) as e:
        parse_answer_key(KEY.replace(*change, 1), source="k.toml")
    assert str(e.value).startswith("k.toml: ") and message in str(e.value) and "\n" not in str(e.value)


def hosts_of(mapping: dict[str, frozenset[str]]):  # type: ignore[no-untyped-def]
    return lambda fault: mapping.get(fault.target, frozenset())


def test_a_design_basis_fault_on_a_listed_target_surfaces_the_weakness(spec) -> None:  # type: ignore[no-untyped-def]
    key = parse_answer_key(KEY, source="k")
    kill = Fault(FaultKind.POD_KILL, 0, "shop/Deployment/auth")
    assert score(key, spec, [kill], "availability", ["shop/Deployment/web"], hosts_of({})).weakness == "auth-single"
    assert score(key, spec, [kill], "latency", ["shop/Deployment/web"], hosts_of({})).verdict == "false", \
        "a violation the weakness does not list"
    assert score(key, spec, [kill], "availability", ["shop/Deployment/api"], hosts_of({})).verdict == "false", \
        "an affected workload the weakness does not list"
    node = Fault(FaultKind.NODE_FAILURE, 1, "Node/n1")
    on_auth = hosts_of({"Node/n1": frozenset({"shop/Deployment/auth"})})
    assert score(key, spec, [node], "availability", ["shop/Deployment/web"], on_auth).weakness == "auth-single"
    assert score(key, spec, [node], "availability", ["shop/Deployment/web"], hosts_of({})).verdict == "false", \
        "a node that did not host the workload when the fault started"


def test_beyond_the_design_basis_is_impact_and_a_fault_on_a_decoy_is_a_decoy_finding(spec) -> None:  # type: ignore[no-untyped-def]
    key = parse_answer_key(KEY, source="k")
    all_of_web = Fault(FaultKind.POD_KILL, 2, "shop/Deployment/web")  # all three pods: beyond one pod
    impact = score(key, spec, [all_of_web], "availability", ["shop/Deployment/web"], hosts_of({}))
    assert impact.verdict == "impact" and "3 of 3 pod(s)" in impact.reason
    two = [Fault(FaultKind.POD_KILL, 0, "shop/Deployment/auth"), Fault(FaultKind.POD_KILL, 0, "shop/Deployment/api")]
    assert score(key, spec, two, "availability", ["shop/Deployment/web"], hosts_of({})).verdict == "impact", \
        "two independent failures at once"
    decoy = score(key, spec, [Fault(FaultKind.POD_KILL, 0, "shop/StatefulSet/store")], "availability",
                  ["shop/Deployment/web"], hosts_of({}))
    assert decoy.verdict == "decoy" and "shop/StatefulSet/store" in decoy.reason


def test_min_nodes_needs_that_many_nodes_that_hosted_the_workload(spec) -> None:  # type: ignore[no-untyped-def]
    key = parse_answer_key(KEY, source="k")
    nodes = [n.key for n in spec.nodes]
    on_api = hosts_of({nodes[0]: frozenset({"shop/Deployment/api"}), nodes[1]: frozenset({"shop/Deployment/api"})})
    one = [Fault(FaultKind.NODE_FAILURE, 0, nodes[0])]
    zone = next(n.zone for n in spec.nodes if n.key == nodes[0])
    pair = [Fault(FaultKind.NODE_FAILURE, 0, n.key) for n in spec.nodes if n.zone == zone][:2]
    assert score(key, spec, one, "latency", ["shop/Deployment/web"], on_api).verdict == "false"
    if len(pair) == 2 and {p.target for p in pair} == set(nodes[:2]):
        assert score(key, spec, pair, "latency", ["shop/Deployment/web"], on_api).weakness == "api-zone"
    two_zones = [Fault(FaultKind.NODE_FAILURE, 0, nodes[0]), Fault(FaultKind.NODE_FAILURE, 0, nodes[1])]
    verdict = score(key, spec, two_zones, "latency", ["shop/Deployment/web"], on_api)
    same_zone = spec.nodes[0].zone == spec.nodes[1].zone
    assert verdict.verdict == ("weakness" if same_zone else "impact")


class Fixed:
    """Always the same single fault: the worst case for repetitions."""

    name = "fixed"

    def __init__(self, target: str, kind: FaultKind) -> None:
        self.target, self.kind = target, kind

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def probabilities(self, decision: Decision) -> np.ndarray:
        p = np.zeros(decision.flat_mask.size)
        p[Action(decision.targets.index(self.target), self.kind, 0, False).encode()] = 1.0
        return p

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        pass


def test_a_game_day_counts_repetitions_without_new_evidence_and_keeps_its_numbers_consistent() -> None:
    case = load_suite(names=["docs-portal-control"])[0]
    trace = play_case(case, Fixed("docs/Deployment/content-cache", FaultKind.POD_KILL), seed=1, budget=10)
    assert trace.injected + trace.skipped == 10 and len(trace.discovered) == 10
    assert trace.found == {} and trace.weaknesses == ()
    tries = trace.injected
    assert trace.repetitions in (tries - 3, tries - 4) and trace.max_streak in (tries, tries - 1)
    assert trace.false_findings >= trace.decoy_findings


def test_a_weakness_found_is_counted_once_at_the_injection_that_first_showed_it() -> None:
    case = load_suite(names=["llm-serving"])[0]
    trace = play_case(case, Fixed("llm/Deployment/keyauth", FaultKind.POD_KILL), seed=2, budget=4)
    assert set(trace.found) <= {w.id for w in case.key.weaknesses}
    assert list(trace.found.values()) == sorted(trace.found.values())
    assert trace.discovered == sorted(trace.discovered) and trace.discovered[-1] == len(trace.found)


def test_run_ood_reports_every_case_with_gaps_and_pooled_numbers() -> None:
    report = run_ood(seeds=1, budget=3, strategies=["uniform_random", "static_rules", "pod_kill"],
                     cases=["bookshop-plain", "batch-etl", "docs-portal-control"], warmup_episodes=0)
    assert set(report["cases"]) == {"bookshop-plain", "batch-etl", "docs-portal-control"}
    shop = report["cases"]["bookshop-plain"]
    # the twin shows every weakness of the shop (its emptyDir carts too: data loss of a Deployment's datastore)
    assert shop["twin_gaps"] == {} and shop["annotations"] == "none"
    etl = report["cases"]["batch-etl"]["twin_gaps"]
    assert list(etl) == ["warehouse-single"] and "no call path" in etl["warehouse-single"]
    assert set(shop["strategies"]) == {"uniform_random", "static_rules", "pod_kill"}
    assert all(s["recall"]["n"] == 1 for s in shop["strategies"].values()), "runs are filed by registry name"
    assert report["cases"]["docs-portal-control"]["strategies"]["uniform_random"]["recall"]["n"] == 0
    assert set(report["overall"]) == {"uniform_random", "static_rules", "pod_kill"}
    assert 0.0 <= report["overall"]["static_rules"]["recall_pooled"] <= 1.0


def test_the_benchmark_command_runs_the_ood_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, md = tmp_path / "ood.json", tmp_path / "ood.md"
    shipped = Path(__file__).resolve().parents[2] / "policies" / "default"
    assert main(["benchmark", "--suite", "ood", "--seeds", "1", "--budget", "2", "--strategies",
                 "uniform_random", "--compare", f"shipped={shipped}", "--json", str(out), "--markdown", str(md)]) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "ood" and report["seeds"] == 1 and len(report["cases"]) >= 8
    assert set(report["overall"]) == {"uniform_random", "shipped"}, "a compared policy plays beside the strategies"
    assert report["policies"] == {"shipped": str(shipped)}
    assert report["command"].startswith("chaos-agent")
    assert "| uniform_random |" in md.read_text() and "uniform_random" in capsys.readouterr().out
    assert main(["benchmark", "--suite", "ood", "--plot", str(tmp_path / "p.png"), "--json", str(out)]) == 2
    assert "--plot draws the generated suite's curves" in capsys.readouterr().err
