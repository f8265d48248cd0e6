"""Training progress and checkpoints under GPU faults; data-pipeline drift, corruption and staleness."""

from __future__ import annotations

import pytest
from sim_specs import NS, nodes, selector

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from envs.spec import ClusterSpec, NodeSpec, Pipeline, PodTemplate, ServiceSpec, Training, Workload

JOB = f"{NS}/Job/train"


def _training_spec(checkpoint: float | None, *, gpu_nodes: int = 2) -> ClusterSpec:
    gpu = tuple(NodeSpec(f"gpu-{i}", gpus=2) for i in range(gpu_nodes))
    training = Training(epochs=10, epoch_s=600.0, checkpoint_interval_s=checkpoint, gpu_memory_fraction=0.6)
    job = Workload(NS, "train", "Job", 1, PodTemplate(labels=(("app", "train"),), gpus=2, startup_s=30.0),
                   role="training", training=training)
    return ClusterSpec("t", gpu, (job,))


def _job_node(sim: SimulatedCluster) -> str:
    ((node, _),) = sim.snapshot().workloads[JOB].pods_by_node
    return node


def test_gpu_failure_loses_all_progress_without_checkpoints() -> None:
    sim = SimulatedCluster(_training_spec(None), seed=4)
    sim.wait(100)
    progress = sim.wls[0].train.base + sim.now()  # type: ignore[union-attr]
    node = _job_node(sim)
    inj = sim.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 0, f"Node/{node}"), injection_id="g")
    assert inj.outcome == "applied" and len(inj.affected_pods) == 1
    assert sim.instant().training_progress_lost_s[JOB] == pytest.approx(progress)
    assert sim.snapshot().nodes[f"Node/{node}"].gpus_allocatable == 1
    sim.wait(40)
    assert _job_node(sim) != node  # rescheduled where two GPUs are free
    assert sim.snapshot().workloads[JOB].ready == 1  # the job resumes
    sim.revert(inj)
    assert sim.snapshot().nodes[f"Node/{node}"].gpus_allocatable == 2


def test_gpu_failure_loses_only_progress_since_the_last_checkpoint() -> None:
    interval = 900.0
    sim = SimulatedCluster(_training_spec(interval), seed=4)
    sim.wait(100)
    progress = sim.wls[0].train.base + sim.now()  # type: ignore[union-attr]
    age = sim.snapshot().workloads[JOB].seconds_since_checkpoint
    assert age == pytest.approx(progress % interval)
    sim.inject(Fault(FaultKind.GPU_DEVICE_FAILURE, 2, f"Node/{_job_node(sim)}"), injection_id="g")
    lost = sim.instant().training_progress_lost_s[JOB]
    assert lost == pytest.approx(progress % interval)
    assert lost < interval
    sim.wait(100)  # back running after 1 + 1 + 30 s, progressing again from the checkpoint
    assert sim.wls[0].train.run_start is not None  # type: ignore[union-attr]
    assert sim.instant().training_progress_lost_s[JOB] == pytest.approx(lost)


def test_after_a_restart_from_a_checkpoint_the_progress_at_risk_starts_again_from_zero() -> None:
    """What a second failure would lose is the progress made since the restart, not the checkpoint's age."""
    interval = 1800.0
    sim = SimulatedCluster(_training_spec(interval), seed=4)
    sim.wait(interval)  # a checkpoint has been taken whatever the drawn start
    at_risk = sim.snapshot().workloads[JOB].seconds_since_checkpoint
    assert at_risk is not None and 0 <= at_risk < interval
    sim.inject(Fault(FaultKind.POD_KILL, 0, JOB), injection_id="k")
    assert sim.snapshot().workloads[JOB].seconds_since_checkpoint == pytest.approx(0.0)
    sim.wait(300)  # replaced and started (30 s) and running again
    again = sim.snapshot().workloads[JOB].seconds_since_checkpoint
    assert again is not None and 0 < again < 300
    lost = sim.instant().training_progress_lost_s[JOB]
    sim.inject(Fault(FaultKind.POD_KILL, 0, JOB), injection_id="k2")
    assert sim.instant().training_progress_lost_s[JOB] - lost == pytest.approx(again, abs=1.0)


@pytest.mark.parametrize(("intensity", "ooms"), [(0, False), (1, True), (2, True)])
def test_gpu_memory_pressure_above_headroom_ooms_the_job(intensity: int, ooms: bool) -> None:
    sim = SimulatedCluster(_training_spec(None), seed=1)
    inj = sim.inject(Fault(FaultKind.GPU_MEMORY_PRESSURE, intensity, JOB), injection_id="m")
    sim.wait(60)
    lost = sim.instant().training_progress_lost_s[JOB]
    assert (lost > 0) == ooms  # the job uses 0.6 of the framebuffer: 0.3 fits, 0.5 and 0.9 do not
    assert (sim.snapshot().workloads[JOB].restarts > 0) == ooms
    sim.revert(inj)
    sim.wait(400)
    assert sim.snapshot().workloads[JOB].ready == 1


def test_training_job_completes_and_keeps_its_lost_counter() -> None:
    sim = SimulatedCluster(_training_spec(600.0), seed=0)
    sim.wait(6000)
    status = sim.snapshot().workloads[JOB]
    assert status.ready == 0 and sim.pods() == []
    assert sim.wls[0].train.completed  # type: ignore[union-attr]
    assert sim.converged(), "a finished Job has nothing left to converge: recovery watches may end early"


# -- pipelines ----------------------------------------------------------------------------------


def _pipeline_spec(*, monitor: bool = False, schema: bool = False, staleness: float = 1800.0) -> ClusterSpec:
    def stage(name: str, kind: str, feeds: tuple[str, ...], **kw: object) -> Workload:
        return Workload(NS, name, "Deployment", 1, PodTemplate(labels=(("app", name),)), role="pipeline",
                        pipeline=Pipeline(kind, feeds=feeds, **kw))  # type: ignore[arg-type]

    wl = (
        stage("ingest", "producer", (f"{NS}/Service/features",)),
        stage("features", "feature_store", (f"{NS}/Service/model",), schema_check=schema),
        stage("model", "model", (), drift_monitor=monitor, max_staleness_s=staleness),
    )
    svcs = tuple(ServiceSpec(NS, n, selector(n)) for n in ("ingest", "features", "model"))
    return ClusterSpec("p", nodes(2), wl, svcs)


MODEL = f"{NS}/Deployment/model"
INGEST = f"{NS}/Deployment/ingest"


@pytest.mark.parametrize("monitor", [False, True])
def test_drift_lowers_accuracy_and_only_a_monitor_detects_it(monitor: bool) -> None:
    sim = SimulatedCluster(_pipeline_spec(monitor=monitor), seed=0)
    before = sim.instant()
    assert before.accuracy[MODEL] == pytest.approx(0.92) and not any(before.drift_detected.values())
    inj = sim.inject(Fault(FaultKind.DATA_DRIFT, 1, INGEST), injection_id="d")  # 1.5 sigma
    s = sim.instant()
    assert s.accuracy[MODEL] == pytest.approx(0.92 - 0.04 * 1.5**2)
    assert s.drift_detected[INGEST] is monitor and s.drift_detected[MODEL] is monitor
    sim.revert(inj)
    assert sim.instant().accuracy[MODEL] == pytest.approx(0.92)
    assert not any(sim.instant().drift_detected.values())


def test_small_drift_stays_below_the_monitor_threshold() -> None:
    sim = SimulatedCluster(_pipeline_spec(monitor=True), seed=0)
    sim.inject(Fault(FaultKind.DATA_DRIFT, 0, INGEST), injection_id="d")  # 0.5 sigma
    assert not sim.instant().drift_detected[INGEST]


@pytest.mark.parametrize(("schema", "bad"), [(False, 0.1), (True, 0.0)])
def test_corrupted_rows_reach_the_model_unless_a_schema_check_rejects_them(schema: bool, bad: float) -> None:
    sim = SimulatedCluster(_pipeline_spec(schema=schema), seed=0)
    inj = sim.inject(Fault(FaultKind.CORRUPTED_ROWS, 1, INGEST), injection_id="c")
    assert sim.instant().bad_rows[MODEL] == pytest.approx(bad)
    sim.revert(inj)
    assert sim.instant().bad_rows[MODEL] == 0.0


@pytest.mark.parametrize(("intensity", "bad"), [(0, 0.0), (1, 0.0), (2, 1.0)])
def test_delayed_ingestion_beyond_max_staleness_shows_as_bad_rows(intensity: int, bad: float) -> None:
    sim = SimulatedCluster(_pipeline_spec(staleness=1800.0), seed=0)
    inj = sim.inject(Fault(FaultKind.DELAYED_INGESTION, intensity, INGEST), injection_id="l")
    assert sim.instant().bad_rows[MODEL] == bad
    sim.wait(200)  # the fault expires after its duration (120 s)
    assert sim.instant().bad_rows[MODEL] == 0.0
    sim.revert(inj)


def test_data_fault_on_a_non_pipeline_workload_fails() -> None:
    spec = _training_spec(None)
    sim = SimulatedCluster(spec, seed=0)
    inj = sim.inject(Fault(FaultKind.DATA_DRIFT, 0, JOB), injection_id="d")
    assert inj.outcome == "failed" and "pipeline" in inj.detail
