"""Real game days calibrate the twin: a cluster slower than Kubernetes' defaults (here a simulator with other
timings stands in for it) teaches the twin its timings, kept in a file beside the findings store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ChaosAgentError
from agent.twin.calibration import CalibrationStore, GameDayCalibration, calibrated, calibration_path, cluster_name
from envs.calibration import Observation, apply
from envs.cluster_under_test import World
from envs.experiment import Timing, run_experiment
from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster, Timings
from envs.spec import ClusterSpec, LabelSelector, NodeSpec, PodTemplate, Probe, ServiceSpec, Workload

WEB = "shop/Deployment/web"


def twin() -> ClusterSpec:
    template = PodTemplate(labels=(("app", "web"),), readiness_probe=Probe(initial_delay_s=5.0))
    return ClusterSpec("shop", tuple(NodeSpec(n, labels=(("kubernetes.io/hostname", n),)) for n in ("a", "b", "c")),
                       (Workload("shop", "web", "Deployment", 3, template),),
                       (ServiceSpec("shop", "web", LabelSelector((("app", "web"),)), entrypoint=True, load_rps=30),))


def real_cluster() -> SimulatedCluster:
    """Slower than the defaults: its images take 40 s to start and its node controller waits 60 s."""
    spec = twin()
    slow = replace(spec, workloads=(replace(spec.workloads[0], template=replace(spec.workloads[0].template,
                                                                                  startup_s=40.0)),))
    return SimulatedCluster(slow, seed=1, timings=Timings(node_monitor_grace_s=60.0))


def game_day(store: CalibrationStore, faults: list[Fault]) -> None:
    real = real_cluster()
    watcher = GameDayCalibration(store, "prod")
    world = watcher.watch(World(spec=twin(), backend=real, steady=real))
    timing = Timing(fault_duration_s=120.0, sample_every_s=5.0, recovery_s=300.0)
    for i, fault in enumerate(faults):
        result = run_experiment(spec=world.spec, backend=world.backend, steady=world.steady, fault=fault,
                                injection_id=f"x{i}", timing=timing, before=world.steady.sample())
        watcher.finished(result, world.spec)
        real.wait(600)


def test_a_game_day_on_the_real_cluster_teaches_the_twin_its_timings(tmp_path: Path) -> None:
    store = CalibrationStore(tmp_path / "var" / "twin-calibration.json")
    game_day(store, [Fault(FaultKind.POD_KILL, 0, WEB), Fault(FaultKind.NODE_FAILURE, 2, "Node/a", duration_s=600),
                     Fault(FaultKind.POD_KILL, 0, WEB)])
    cal = store.load("prod")
    recovery = cal.estimates[("recovery", WEB)]
    assert recovery.count == 2 and 47.0 <= recovery.mean_s <= 52.0  # 1 + 1 + 40 + 5 s, seen at 5 s samples
    detection = cal.estimates[("detection", "")]
    assert 60.0 <= detection.mean_s <= 65.0
    rescheduling = cal.estimates[("rescheduling", "")]  # NotReady until the pods left the node: the toleration
    assert 300.0 <= rescheduling.mean_s <= 305.0
    data = json.loads(store.path.read_text())
    assert data["format"] == 1 and "recovery|shop/Deployment/web" in data["clusters"]["prod"]
    # The twin, calibrated, recovers as slowly as the cluster did; uncalibrated it recovers in 12 s.
    tuned = SimulatedCluster(apply(cal, twin()), seed=2)
    default = SimulatedCluster(twin(), seed=2)
    for sim in (tuned, default):
        sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    default.wait(15)
    tuned.wait(15)
    assert default.snapshot().workloads[WEB].ready == 3 and tuned.snapshot().workloads[WEB].ready == 2
    tuned.wait(recovery.mean_s - 15 + 1)
    assert tuned.snapshot().workloads[WEB].ready == 3


def test_simulated_worlds_of_the_config_use_the_calibration(tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    manifests.mkdir()
    import yaml

    from tests.envs.twin.objects import deployment, service

    (manifests / "app.yaml").write_text(yaml.safe_dump_all([deployment("web", namespace="shop", replicas=2),
                                                            service("web", namespace="shop")]))
    path = tmp_path / "config.toml"
    path.write_text(f'[cluster.simulated]\nmanifests = "{manifests}"\n[cluster.kubernetes]\ncontext = "prod"\n')
    config = load_config(path)
    assert cluster_name(config) == "prod" and calibration_path(config) == tmp_path / "var" / "twin-calibration.json"
    CalibrationStore(calibration_path(config)).record("prod", [Observation("detection", "Node/x", 25.0),
                                                                Observation("recovery", WEB, 90.0)])
    from agent.embedded_cluster import simulated_world

    spec = simulated_world(config).spec
    assert spec.calibrated == (("node_monitor_grace_s", 25.0),)
    assert spec.workload(WEB).template.startup_s > 80.0
    assert calibrated(twin(), config).calibrated == (("node_monitor_grace_s", 25.0),)


def test_a_corrupt_calibration_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "twin-calibration.json"
    path.write_text('{"format": 1, "clusters": {"prod": {"recovery|x": "soon"}}}')
    with pytest.raises(ChaosAgentError, match=r"entry 'recovery\|x' = 'soon' is not \[mean seconds, count\]"):
        CalibrationStore(path).load("prod")
    path.write_text("not json")
    with pytest.raises(ChaosAgentError, match="not a twin calibration file"):
        CalibrationStore(path).load("prod")


def test_the_daemon_calibrates_on_real_game_days_only(tmp_path: Path) -> None:
    from agent.daemon.slots import game_day_calibration

    kube = tmp_path / "k.toml"
    kube.write_text('[cluster]\nbackend = "kubernetes"\n[cluster.kubernetes]\ncontext = "prod"\n')
    watcher = game_day_calibration(load_config(kube))
    assert isinstance(watcher, GameDayCalibration) and watcher.cluster == "prod"
    assert watcher.store.path == tmp_path / "var" / "twin-calibration.json"
    sim = tmp_path / "s.toml"
    sim.write_text("[cluster.simulated]\nseed = 1\n")
    assert game_day_calibration(load_config(sim)) is None
