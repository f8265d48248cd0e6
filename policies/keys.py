"""Answer keys of generated clusters, computed on every core and kept as JSON between runs.

A generated cluster's key takes seconds (every design-basis fault run in several states,
``envs.scenarios.effects``), and training and the benchmark need hundreds. Keys are a pure function of
the cluster, so they are cached: one JSON file per cluster, holding the digest of the spec and timings
it was computed for; a file whose digest differs (the generator changed) is recomputed. JSON only.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from envs.faults import FaultKind
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario, Trigger, with_key

KEY_FORMAT = "chaos-agent-answer-key/1"
DEFAULT_CACHE = Path("var/cache/answer-keys")


def digest(scenario: Scenario) -> str:
    return hashlib.sha256(repr((scenario.spec, scenario.timings)).encode()).hexdigest()[:24]


def weakness_to_json(w: PlantedWeakness) -> dict[str, Any]:
    return {
        "kind": w.kind, "violation": w.violation, "affected": w.affected, "description": w.description,
        "p": w.p, "surfacing": w.surfacing, "subjects": list(w.subjects), "violations": list(w.violations),
        "rates": list(w.rates), "blast_s": list(w.blast_s), "culprit": w.culprit,
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
        blast_s=tuple(d["blast_s"]), culprit=d["culprit"])


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
    return with_key(scenario, [weakness_from_json(w) for w in data["weaknesses"]])


def _store(cache: Path | None, scenario: Scenario) -> None:
    if cache is None:
        return
    cache.mkdir(parents=True, exist_ok=True)
    body = {"format": KEY_FORMAT, "digest": digest(scenario), "name": scenario.name, "family": scenario.family,
            "weaknesses": [weakness_to_json(w) for w in scenario.weaknesses]}
    tmp = _path(cache, scenario).with_suffix(".tmp")
    tmp.write_text(json.dumps(body, separators=(",", ":")))
    tmp.replace(_path(cache, scenario))


def _compute(job: tuple[int, Scenario]) -> tuple[int, Scenario]:
    return job[0], with_key(job[1])


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


def _keep(done: Iterable[tuple[int, Scenario]], out: list[Scenario | None], cache: Path | None) -> None:
    """Store each key as soon as it is swept: an interrupted run keeps what it finished."""
    for i, s in done:
        _store(cache, s)
        out[i] = s
