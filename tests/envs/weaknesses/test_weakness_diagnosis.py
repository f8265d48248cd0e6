"""Root-cause analysis on real simulator runs: each cause of the taxonomy from a cluster that has it, impact for
faults beyond the design basis, and "unexplained" when no known cause fits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envs.experiment import Timing
from envs.faults import Fault, FaultKind
from envs.scenarios import builtin
from envs.spec import HOSTNAME_LABEL, Call, ClusterSpec, EntryClient, LabelRequirement, Training, Workload
from envs.symptoms import symptoms_of
from envs.weaknesses import Case, Diagnosis, RootCause, diagnose
from envs.weaknesses.verify import run
from tests.envs.sim.sim_specs import NS, deployment, nodes, service, template

F = FaultKind
FRONT, BACK = f"{NS}/Deployment/front", f"{NS}/Deployment/back"
TIMING = Timing(fault_duration_s=120.0, sample_every_s=15.0, recovery_s=300.0)


def chain(back: Workload | None = None, *, call: Call | None = None, front: Workload | None = None,
          edge_retries: int = 0, connect_timeout_ms: float = 5000.0) -> ClusterSpec:
    """front (entry, 3 replicas) -> back, a critical call unless ``call`` says otherwise."""
    c = call or Call(f"{NS}/Service/back", timeout_ms=300.0, retries=0)
    f = front or deployment("front", 3, calls=(c,))
    b = back or deployment("back", 1)
    edge = EntryClient("edge", tries=edge_retries + 1, connect_timeout_ms=connect_timeout_ms)
    web = replace(service("front", entry=True, load=40.0), client=edge)
    hosts = tuple(replace(n, labels=((HOSTNAME_LABEL, n.name),)) for n in nodes(4))
    return ClusterSpec("chain", hosts, (replace(f, calls=(c,)), b), (web, service("back")))


def diagnoses(spec: ClusterSpec, *faults: Fault, seeds: range = range(1, 4)) -> list[Diagnosis]:
    """Diagnoses of every symptom of the faults over a few seeds."""
    out = []
    for seed in seeds:
        result = run(spec, faults, seed=seed, timing=TIMING)
        assert result is not None
        for s in symptoms_of(result):
            out.append(diagnose(spec, Case("F-x", s.violation, s.faults, s.affected, s.worst, result.footprint,
                                            s.severity)))
    return out


def only(ds: list[Diagnosis]) -> Diagnosis:
    assert ds, "the fault broke nothing"
    assert len({(d.cause, d.locus, d.variant) for d in ds}) == 1, ds
    return ds[0]


def test_a_single_replica_dependency_lost_is_a_single_point_of_failure() -> None:
    d = only(diagnoses(chain(), Fault(F.POD_KILL, 0, BACK)))
    assert (d.cause, d.locus, d.component) == (RootCause.SINGLE_REPLICA_ON_PATH, BACK, f"path|{BACK}")
    assert d.basis.within and "one replica" in d.detail


def test_replicas_pinned_to_one_node_are_colocated() -> None:
    pin = ((LabelRequirement(HOSTNAME_LABEL, "In", ("node-3",)),),)
    back = deployment("back", 3, node_affinity=pin)
    d = only(diagnoses(chain(back), Fault(F.NODE_FAILURE, 0, "Node/node-3")))
    assert (d.cause, d.variant, d.component) == (RootCause.COLOCATED_REPLICAS, "node", f"path|{BACK}")


def test_loss_into_an_entry_point_is_a_missing_retry_at_the_edge_and_edge_retries_absorb_it() -> None:
    loss = Fault(F.NETWORK_LOSS, 0, FRONT)
    d = only(diagnoses(chain(deployment("back", 2)), loss))
    assert (d.cause, d.variant, d.locus) == (RootCause.NO_FALLBACK, "edge", f"{NS}/Service/front")
    assert "not retried" in d.detail
    # retried, but each lost try first waits the edge's 5 s connect timeout: latency, not errors
    slow = diagnoses(chain(deployment("back", 2), edge_retries=4), loss)
    assert slow and {(x.cause, x.variant, x.locus) for x in slow} == {
        (RootCause.NO_FALLBACK, "edge-slow", f"{NS}/Service/front")}
    assert "5000 ms connect timeout" in slow[0].detail
    # a connect timeout whose waits fit in the 1 s objective absorbs the loss
    assert diagnoses(chain(deployment("back", 2), edge_retries=4, connect_timeout_ms=200.0), loss) == []


def test_a_partitioned_pod_behind_a_critical_call_without_retries_is_a_missing_fallback() -> None:
    d = only(diagnoses(chain(deployment("back", 2)), Fault(F.NETWORK_PARTITION, 0, BACK)))
    assert (d.cause, d.variant, d.locus) == (RootCause.NO_FALLBACK, "call", f"{FRONT} -> {NS}/Service/back")
    assert d.component == f"path|{BACK}", "a call's cause belongs to the component it calls"


def test_latency_past_a_tight_timeout_is_a_timeout_below_the_dependency_tail() -> None:
    d = only(diagnoses(chain(deployment("back", 3)), Fault(F.NETWORK_LATENCY, 1, BACK)))
    assert (d.cause, d.locus) == (RootCause.TIMEOUT_BELOW_DEPENDENCY_TAIL, f"{FRONT} -> {NS}/Service/back")
    with_fallback = chain(deployment("back", 3), call=Call(f"{NS}/Service/back", timeout_ms=300.0, fallback=True))
    assert diagnoses(with_fallback, Fault(F.NETWORK_LATENCY, 1, BACK)) == []


def test_losing_the_leader_pod_is_the_leader_not_the_edge() -> None:
    front = replace(deployment("front", 3), leader_failover_s=90.0)
    ds = diagnoses(chain(deployment("back", 2), front=front), Fault(F.POD_KILL, 0, FRONT), seeds=range(1, 13))
    assert ds, "one pod in three is the leader: some seed kills it"
    d = only(ds)
    assert (d.cause, d.variant, d.locus) == (RootCause.SINGLE_REPLICA_ON_PATH, "leader", FRONT)


def test_state_on_the_pod_is_ephemeral_state() -> None:
    store = Workload(NS, "back", "StatefulSet", 2, template("back"), role="cache")
    key = f"{NS}/StatefulSet/back"
    d = only(diagnoses(chain(store, call=Call(f"{NS}/Service/back", fallback=True)), Fault(F.POD_KILL, 0, key)))
    assert (d.cause, d.locus, d.variant) == (RootCause.EPHEMERAL_STATE, key, "StatefulSet")


@pytest.mark.parametrize(("interval", "variant"), [(None, "never"), (3600.0, "rare")])
def test_a_job_whose_checkpoints_cannot_save_its_progress_has_no_usable_checkpoint(
        interval: float | None, variant: str) -> None:
    job = Workload(NS, "train", "Job", 1, template("train"), role="training",
                   training=Training(epochs=500, epoch_s=600.0, checkpoint_interval_s=interval))
    spec = ClusterSpec("train", nodes(2), (job,))
    ds = [d for d in diagnoses(spec, Fault(F.POD_KILL, 0, f"{NS}/Job/train"), seeds=range(1, 9))]
    d = only(ds)
    assert (d.cause, d.variant) == (RootCause.NO_USABLE_CHECKPOINT, variant)


@pytest.mark.parametrize(("scenario", "fault", "cause", "variant"), [
    ("ml-platform", Fault(F.DATA_DRIFT, 1, "ml/Deployment/clickstream-ingest"), RootCause.NO_DRIFT_MONITOR, ""),
    ("ml-platform", Fault(F.CORRUPTED_ROWS, 1, "ml/Deployment/catalog-sync-ingest"), RootCause.NO_SCHEMA_CHECK, ""),
    ("storefront", Fault(F.DELAYED_INGESTION, 1, "shop-ml/Deployment/orders-ingest"), RootCause.NO_FALLBACK, "stale"),
])
def test_data_path_causes(scenario: str, fault: Fault, cause: RootCause, variant: str) -> None:
    d = only(diagnoses(builtin(scenario).spec, fault, seeds=range(1, 2)))
    assert (d.cause, d.variant) == (cause, variant)


def test_a_beyond_design_basis_fault_is_impact_not_a_weakness() -> None:
    ds = diagnoses(chain(deployment("back", 3)), Fault(F.POD_KILL, 2, BACK))
    assert ds and all(d.cause is None and not d.basis.within for d in ds)
    assert "3 of 3 pod(s)" in ds[0].basis.reason


def test_a_breach_no_known_cause_explains_is_kept_as_unexplained() -> None:
    # injected latency on the entry itself: the entry's own objective has no room for it; no setting fixes it
    spec = chain(deployment("back", 2), call=Call(f"{NS}/Service/back", fallback=True))
    spec = replace(spec, services=(replace(spec.services[0], slo=replace(spec.services[0].slo, latency_p99_ms=300.0)),
                                   spec.services[1]))
    d = only(diagnoses(spec, Fault(F.NETWORK_LATENCY, 1, FRONT)))
    assert d.cause is RootCause.UNEXPLAINED and d.basis.within
    assert d.component == f"unexplained|latency:{NS}/Service/front" and "no room" in d.detail
