"""Baseline load: defaulted entry loads are sized to the busiest downstream service; an overload that
annotations force is named in a note; every shipped example holds its steady state on the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.profile import utilisation
from envs.sim import SimulatedCluster
from envs.twin import load_manifests, spec_from_objects
from envs.verdict import baseline_holds

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "manifests"


def chain(entry_annotations: dict[str, str]) -> list[dict[str, object]]:
    """web (3 pods) calls db (1 pod) twice over: once directly, once through api."""
    def deploy(name: str, replicas: int, env: dict[str, str]) -> dict[str, object]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "a"},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": "x",
                                             "env": [{"name": k, "value": v} for k, v in env.items()]}]}}}}

    def svc(name: str, **extra: object) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "a", **extra},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}

    return [deploy("web", 3, {"DB": "db:80", "API": "http://api"}), deploy("api", 3, {"DB": "db"}),
            deploy("db", 1, {}), svc("web", annotations={"chaos-agent.io/entrypoint": "true", **entry_annotations}),
            svc("api"), svc("db")]


def test_default_entry_load_puts_the_busiest_service_at_half_capacity() -> None:
    spec = spec_from_objects(chain({}), name="t")
    use = utilisation(spec)
    assert max(use, key=lambda k: use[k]) == "a/Service/db"
    assert use["a/Service/db"] == pytest.approx(0.5)
    assert any("lowered" in n and "a/Service/db" in n for n in spec.notes)


def test_an_annotated_load_that_overloads_a_service_is_named() -> None:
    spec = spec_from_objects(chain({"chaos-agent.io/load-rps": "80"}), name="t")
    assert utilisation(spec)["a/Service/db"] == pytest.approx(1.6)
    [note] = [n for n in spec.notes if "capacity at baseline" in n]
    assert "a/Service/db" in note and "load-rps" in note


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_every_example_holds_its_steady_state_on_the_simulator(example: str) -> None:
    spec = load_manifests(EXAMPLES / example)
    sim = SimulatedCluster(spec, seed=0)
    sim.wait(900)
    assert baseline_holds(spec, sim.sample()), sim.sample()
