"""The verdict and the reward are pure functions: tested on hand-made samples."""

from __future__ import annotations

import pytest

from envs.cluster import SteadyStateSample
from envs.reward import RewardWeights, reward
from envs.spec import ClusterSpec, ModelSlo, Pipeline, Slo, Workload
from envs.verdict import baseline_holds, judge, severity_label, upstream_pipelines
from tests.envs.sim.sim_specs import NS, deployment, nodes, service, template

FRONT_SVC = f"{NS}/Service/front"
FRONT = f"{NS}/Deployment/front"


def spec() -> ClusterSpec:
    producer = Workload(NS, "producer", "Deployment", 1, template("producer"), role="pipeline",
                        pipeline=Pipeline("producer", feeds=(f"{NS}/Service/store",)))
    store = Workload(NS, "store", "StatefulSet", 1, template("store"), role="pipeline",
                     pipeline=Pipeline("feature_store", feeds=(f"{NS}/Service/model",), drift_monitor=True))
    model = Workload(NS, "model", "Deployment", 1, template("model"), role="pipeline",
                     pipeline=Pipeline("model"))
    return ClusterSpec("v", nodes(2), (deployment("front", 2), producer, store, model),
                       (service("front", entry=True, slo=Slo(0.99, 500.0)), service("store"), service("model")),
                       model_slo=ModelSlo(min_accuracy=0.85, max_training_progress_lost_s=600))


def s(t: float, avail: float = 1.0, lat: float = 50.0, **kw: object) -> SteadyStateSample:
    return SteadyStateSample(time_s=t, availability={FRONT_SVC: avail}, latency_p99_ms={FRONT_SVC: lat},
                             **kw)  # type: ignore[arg-type]


def test_no_breach_when_every_bound_holds() -> None:
    assert judge(spec(), s(0), [s(15), s(30)], [s(45)], started_s=0, reverted_s=30, sample_every_s=15) == ()


def test_availability_breach_has_numbers_times_and_the_backing_workload() -> None:
    [b] = judge(spec(), s(0), [s(15, 0.5), s(30, 0.2)], [s(45, 0.995), s(60)], started_s=0, reverted_s=30,
                sample_every_s=15)
    assert (b.violation, b.subject, b.threshold, b.before, b.worst, b.after) == ("availability", FRONT, 0.99, 1.0,
                                                                                  0.2, 1.0)
    assert b.detect_s == 15 and b.recover_s == 15 and b.breach_s == 30
    assert severity_label(b.severity) == "critical"


def test_a_bound_already_broken_before_is_not_the_faults_finding() -> None:
    assert judge(spec(), s(0, 0.5), [s(15, 0.1)], [], started_s=0, reverted_s=15, sample_every_s=15) == ()


def test_latency_breach_and_a_breach_seen_only_after_revert() -> None:
    [b] = judge(spec(), s(0), [s(15)], [s(30, lat=900.0)], started_s=0, reverted_s=15, sample_every_s=15)
    assert b.violation == "latency" and b.worst == 900.0 and b.recover_s is None


def test_training_progress_counts_only_loss_beyond_the_bound_since_before() -> None:
    job = f"{NS}/Job/train"
    base = s(0, training_progress_lost_s={job: 5000.0})
    small = s(15, training_progress_lost_s={job: 5500.0})
    big = s(30, training_progress_lost_s={job: 5700.0})
    assert judge(spec(), base, [small], [], started_s=0, reverted_s=15, sample_every_s=15) == ()
    [b] = judge(spec(), base, [small, big], [], started_s=0, reverted_s=30, sample_every_s=15)
    assert b.violation == "training_progress" and b.worst == 700.0


def test_drift_is_a_finding_only_when_no_monitor_on_the_path_flagged_it() -> None:
    model = f"{NS}/Deployment/model"
    assert upstream_pipelines(spec(), model) == {model, f"{NS}/StatefulSet/store", f"{NS}/Deployment/producer"}
    before = s(0, accuracy={model: 0.92}, drift_detected={})
    undetected = s(15, accuracy={model: 0.7}, drift_detected={})
    detected = s(15, accuracy={model: 0.7}, drift_detected={f"{NS}/StatefulSet/store": True})
    [b] = judge(spec(), before, [undetected], [], started_s=0, reverted_s=15, sample_every_s=15)
    assert b.violation == "undetected_drift" and b.subject == model
    assert judge(spec(), before, [detected], [], started_s=0, reverted_s=15, sample_every_s=15) == ()


def test_data_loss_and_bad_rows() -> None:
    sts, model = f"{NS}/StatefulSet/store", f"{NS}/Deployment/model"
    before = s(0, data_lost={sts: 0}, bad_rows={model: 0.0})
    after = s(15, data_lost={sts: 1}, bad_rows={model: 0.2})
    got = {b.violation for b in judge(spec(), before, [after], [], started_s=0, reverted_s=15, sample_every_s=15)}
    assert got == {"data_loss", "data_quality"}


def test_baseline_holds() -> None:
    assert baseline_holds(spec(), s(0))
    assert not baseline_holds(spec(), s(0, 0.9))
    assert not baseline_holds(spec(), s(0, lat=600.0))


def test_reward_terms() -> None:
    w = RewardWeights(novelty=1.0, blast_per_minute=0.1, refind=0.5, wasted=0.2)
    t = reward(new_severities=[0.8, 0.4], refound=1, breach_s=120.0, injected=True, weights=w)
    assert (t.severity, t.novelty, t.blast, t.refind, t.wasted) == pytest.approx((1.2, 2.0, 0.2, 0.5, 0.0))
    assert t.total == pytest.approx(2.5) and t.as_dict()["total"] == pytest.approx(2.5)
    nothing = reward(new_severities=[], refound=0, breach_s=0.0, injected=False, weights=w)
    assert nothing.total == pytest.approx(-0.2)


