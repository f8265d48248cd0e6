"""Answer keys of generated clusters, computed on every core and kept as JSON between runs.

A generated cluster's key takes seconds (every design-basis fault run in several states,
``envs.scenarios.effects``), and training and the benchmark need hundreds. The sweep is a pure function
of the cluster and the simulator, so it is cached: one JSON file per cluster with every effect and the
digest of the spec, the timings and the simulator's source it was run with (a file whose digest differs,
because the generator or the simulator changed, is swept again). The key is grouped from the stored
effects on load, so a change to the root-cause analysis needs no new simulation. JSON only, never a pickle.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import envs
from envs.faults import Fault, FaultKind
from envs.footprint import Touch
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario, Trigger, with_key
from envs.scenarios.effects import Action, Effect, Sweep, sweep
from envs.scenarios.key import answer_key
from envs.spec import ClusterSpec
from envs.verdict import Breach

KEY_FORMAT = "chaos-agent-sweep/1"
DEFAULT_CACHE = Path("var/cache/answer-keys")


@functools.cache
def simulator_digest() -> str:
    """The source of the ``envs`` package: a sweep is what the simulator did to the spec, so a change to its
    semantics (how a retry, an eviction or a probe plays out) stales every stored key, spec unchanged."""
    root = Path(envs.__file__).parent
    analysis = root / "scenarios" / "key.py"  # grouping runs on load: a change to it needs no new sweep
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.py") if p != analysis):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def digest(scenario: Scenario) -> str:
    """What a stored sweep was run for: the spec, its timings and the simulator that ran it."""
    return hashlib.sha256(repr((scenario.spec, scenario.timings, simulator_digest())).encode()).hexdigest()[:24]


def weakness_to_json(w: PlantedWeakness) -> dict[str, Any]:
    return {
        "kind": w.kind, "violation": w.violation, "affected": w.affected, "description": w.description,
        "p": w.p, "surfacing": w.surfacing, "subjects": list(w.subjects), "violations": list(w.violations),
        "rates": list(w.rates), "blast_s": list(w.blast_s), "culprit": w.culprit, "component": w.component,
        "triggers": [[[sorted(k.value for k in r.kinds), r.target, r.min_intensity] for r in t.requires]
                     for t in w.triggers],
    }


def weakness_from_json(d: dict[str, Any]) -> PlantedWeakness:
    triggers = tuple(Trigger(tuple(FaultRequirement(frozenset(FaultKind(k) for k in kinds), target, int(i))
                                   for kinds, target, i in t)) for t in d["triggers"])
    return PlantedWeakness(
        class_id="", kind=d["kind"], violation=d["violation"], affected=d["affected"], triggers=triggers,
        description=d["description"], p=float(d["p"]), surfacing=int(d["surfacing"]),
        subjects=tuple(d["subjects"]), violations=tuple(d["violations"]), rates=tuple(d["rates"]),
        blast_s=tuple(d["blast_s"]), culprit=d["culprit"], component=d.get("component", ""))


def _action_json(action: Action) -> list[list[Any]]:
    return [[f.kind.value, f.intensity, f.target] for f in action]


def _action(data: list[list[Any]]) -> Action:
    return tuple(Fault(FaultKind(k), int(i), str(t)) for k, i, t in data)


def sweep_to_json(sweep: Sweep) -> dict[str, Any]:
    return {
        "tries": [[_action_json(a), n] for a, n in sweep.tries.items()],
        "effects": [{"action": _action_json(e.action), "state": e.state, "violation": e.violation,
                     "subjects": list(e.subjects), "breach_s": e.breach_s, "severity": e.severity,
                     "worst": dataclasses.asdict(e.worst), "footprint": [t.to_dict() for t in e.footprint]}
                    for e in sweep.effects],
    }


def sweep_from_json(spec: ClusterSpec, data: dict[str, Any]) -> Sweep:
    tries = {_action(a): int(n) for a, n in data["tries"]}
    effects = tuple(Effect(_action(e["action"]), int(e["state"]), e["violation"], tuple(e["subjects"]),
                           float(e["breach_s"]), float(e["severity"]), Breach(**e["worst"]),
                           tuple(Touch.from_dict(t) for t in e["footprint"])) for e in data["effects"])
    return Sweep(spec=spec, tries=tries, effects=effects)


def _path(cache: Path, scenario: Scenario) -> Path:
    return cache / f"{scenario.name}-{digest(scenario)}.json"


def _load(cache: Path | None, scenario: Scenario) -> Scenario | None:
    if cache is None:
        return None
    path = _path(cache, scenario)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if data.get("format") != KEY_FORMAT or data.get("digest") != digest(scenario):
        return None
    return with_key(scenario, answer_key(sweep_from_json(scenario.spec, data["sweep"])))


def _store(cache: Path | None, scenario: Scenario, sweep: Sweep) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    body = {"format": KEY_FORMAT, "digest": digest(scenario), "name": scenario.name, "family": scenario.family,
            "sweep": sweep_to_json(sweep)}
    tmp = _path(cache, scenario).with_suffix(".tmp")
    tmp.write_text(json.dumps(body, separators=(",", ":")))
    tmp.replace(_path(cache, scenario))


def _compute(job: tuple[int, Scenario]) -> tuple[int, Scenario, Sweep]:
    i, scenario = job
    swept = sweep(scenario.spec, seed=scenario.seed, timings=scenario.timings)
    return i, with_key(scenario, answer_key(swept)), swept


def keyed(scenarios: Sequence[Scenario], *, cache: Path | None = DEFAULT_CACHE, workers: int = 0,
          progress: Callable[[str], None] | None = None) -> list[Scenario]:
    """``scenarios`` with their answer keys, from ``cache`` where it has them, else swept on ``workers``
    processes (0: one per core) and stored there."""
    out: list[Scenario | None] = [_load(cache, s) for s in scenarios]
    todo = [i for i, s in enumerate(out) if s is None]
    if todo and progress:
        progress(f"answer keys: sweeping {len(todo)} cluster(s) ({len(scenarios) - len(todo)} cached)")
    n = max(1, min(workers or (os.cpu_count() or 1), len(todo)))
    jobs = [(i, scenarios[i]) for i in todo]
    if n == 1:
        _keep(map(_compute, jobs), out, cache)
    else:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            _keep(pool.imap_unordered(_compute, jobs, chunksize=1), out, cache)
    return [s for s in out if s is not None]


def _keep(done: Iterable[tuple[int, Scenario, Sweep]], out: list[Scenario | None], cache: Path | None) -> None:
    """Store each sweep as soon as it is done: an interrupted run keeps what it finished."""
    for i, s, swept in done:
        _store(cache, s, swept)
        out[i] = s
