"""The twin from the command line: `run` on manifests (limits, the "no workload" error, no error budget unless
the file sets one), `twin build` and `twin show`."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.config import load_config
from envs.spec import ClusterSpec
from envs.twin import load_manifests
from tests.envs.twin.objects import container, deployment, service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "manifests"


def config_for(tmp_path: Path, manifests: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[cluster.simulated]\nmanifests = "{manifests}"\nseed = 3\n'
                    f'[policy]\nstrategy = "uniform_random"\n{extra}')
    return path


def test_no_workload_error_names_each_skipped_object_and_why(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo"}, "spec": {"containers": [{"name": "a"}]}}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "app.yaml").write_text(yaml.safe_dump_all([bare, deployment("web", replicas="three")]))
    assert main(["run", "--config", str(config_for(tmp_path, tmp_path / "m")), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "holds no workload the twin can model" in err
    assert "skipped Deployment default/web (app.yaml:" in err and "spec.replicas must be" in err
    assert "skipped Pod default/solo (app.yaml:1): a bare Pod" in err


def test_replica_bound_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "app.yaml").write_text(yaml.safe_dump(deployment("web", replicas=1_000_000_000)))
    assert main(["run", "--config", str(config_for(tmp_path, tmp_path / "m")), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Deployment default/web asks for 1000000000 pods" in err


def test_a_simulated_run_keeps_no_error_budget_unless_asked(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    # No error_budget in the file: the simulator's default is unlimited, so every injection runs.
    config = config_for(tmp_path, EXAMPLES / "storefront")
    assert load_config(config).safety.error_budget == math.inf
    assert main(["run", "--config", str(config), "--quiet", "--max-injections", "12", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["injections"] == 12 and "stopped" not in data and data["findings"]
    real = tmp_path / "real.toml"
    real.write_text('[cluster]\nbackend = "kubernetes"\n')
    assert load_config(real).safety.error_budget == 50.0  # a real cluster keeps its budget
    # [safety] error_budget set in the file is honoured, also on the simulator: 0 stops at the first breach.
    config = config_for(tmp_path, EXAMPLES / "storefront", "[safety]\nerror_budget = 0\n")
    assert main(["run", "--config", str(config), "--quiet", "--max-injections", "12", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["injections"] < 12 and data["stopped"].startswith("error budget spent")


def same_model(a: ClusterSpec, b: ClusterSpec) -> None:
    """The same simulated cluster (the workloads' raw annotations differ: the inferred ones are written in)."""
    def bare(spec: ClusterSpec) -> tuple[object, ...]:
        return tuple(replace(w, annotations=()) for w in spec.workloads)

    assert bare(a) == bare(b)
    assert (a.services, a.nodes, a.pdbs, a.hpas) == (b.services, b.nodes, b.pdbs, b.hpas)


def test_twin_build_writes_reviewable_yaml_that_builds_the_same_twin(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "twin"
    assert main(["twin", "build", "--config", str(config_for(tmp_path, EXAMPLES / "storefront")), "--out",
                 str(out)]) == 0
    assert "inferred annotations" in capsys.readouterr().out
    redis = (out / "redis-cart.yaml").read_text()
    assert "# inferred: named 'redis-cart'" in redis and "chaos-agent.io/datastore: store" in redis
    assert "# inferred: redis data path; an emptyDir at /data" in redis
    frontend = (out / "frontend.yaml").read_text()
    assert "# inferred: adservice: env AD_SERVICE_ADDR" in frontend
    assert (out / "notes.txt").read_text().count("\n") >= 1
    original = load_manifests(EXAMPLES / "storefront")
    rebuilt = load_manifests(out)
    same_model(original, rebuilt)
    assert not rebuilt.inferred  # everything is stated now
    again = tmp_path / "again"
    assert main(["twin", "build", "--config", str(config_for(tmp_path, out)), "--out", str(again)]) == 0
    same_model(original, load_manifests(again))


def test_twin_build_round_trips_every_kind_of_inference(tmp_path: Path) -> None:
    """Datastores, cold starts, entry clients, cached calls, brokers, telemetry: written and read back."""
    from tests.envs.twin.test_twin_telemetry import BOOKSHOP, GRAPH

    manifests = tmp_path / "in"
    manifests.mkdir()
    for f in BOOKSHOP.glob("*.yaml"):
        (manifests / f.name).write_text(f.read_text())
    llm = deployment("llm", containers=[container("vllm")])
    llm["spec"]["template"]["spec"]["containers"][0]["image"] = "vllm/vllm-openai:v0.6"
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "llm"},
               "spec": {"defaultBackend": {"service": {"name": "llm", "port": {"number": 80}}}}}
    registry = deployment("schemas", containers=[container("registry")])
    registry["spec"]["template"]["spec"]["containers"][0]["image"] = "confluentinc/cp-schema-registry:7.6"
    client = deployment("api", containers=[container("app", env={"REGISTRY": "http://schemas:8081"})])
    (manifests / "extra.yaml").write_text(yaml.safe_dump_all([llm, service("llm"), ingress, registry,
                                                             service("schemas"), client]))
    from agent.twin.export import write_twin
    from agent.twin.inputs import TwinInputs, build
    from envs.twin import read_manifests

    items, name = read_manifests(manifests)
    inputs = TwinInputs(tuple(items), name, "manifests", GRAPH)
    spec = build(inputs)
    kinds = {i.annotation for i in spec.inferred}
    assert {"chaos-agent.io/cold-start", "chaos-agent.io/entry-client", "chaos-agent.io/calls",
            "chaos-agent.io/datastore", "chaos-agent.io/load-rps", "chaos-agent.io/base-latency-ms"} <= kinds
    write_twin(tmp_path / "out", inputs, spec)
    rebuilt = load_manifests(tmp_path / "out")  # no telemetry this time: the annotations carry it
    same_model(spec, rebuilt)


def test_twin_show_prints_the_call_graph_loads_and_datastores(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["twin", "show", "--config", str(config_for(tmp_path, EXAMPLES / "storefront"))]) == 0
    out = capsys.readouterr().out
    assert "default/Service/frontend-external  25 rps  external: no retry" in out
    assert "default/Deployment/cartservice -> default/Service/redis-cart  x1, 1 s, 0 retries" in out
    assert "default/Service/redis-cart  50 rps  50%" in out
    assert "default/Deployment/redis-cart  redis store on an emptyDir: loses its cart keys with its pod" in out


def test_twin_build_on_an_unwritable_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = config_for(tmp_path, EXAMPLES / "storefront")
    assert main(["twin", "build", "--config", str(config), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write the twin there" in err
