"""A privileged teacher for the warm start: it knows each training scenario's planted weaknesses.

On training clusters only, the teacher marks every action that triggers a weakness not yet found
(holding the first fault of a two-fault trigger, then adding the second). The student sees only the
observation and learns to put its probability on that set: which observable facts predict a weakness.
MaskablePPO then improves on the teacher (which tries flaky and state-dependent weaknesses blindly).
Held-out clusters are
never seen, and the deployed policy never sees a hidden id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS
from envs.chaos_env import ChaosClusterEnv
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario


@dataclass
class Demonstrations:
    obs: NDArray[np.float32]
    masks: NDArray[np.bool_]
    target: NDArray[np.float16]
    """Per state, the distribution to imitate: each pending weakness gets an equal share, spread evenly
    over the allowed actions that would trigger it (a narrow weakness counts as much as a broad one)."""


def _mark(env: ChaosClusterEnv, req: FaultRequirement, hold: bool, out: NDArray[np.bool_]) -> None:
    if req.target not in env.targets:
        return
    t = env.targets.index(req.target)
    for k in req.kinds:
        out[t, KIND_INDEX[k], req.min_intensity:, int(hold)] = True


def good_actions(env: ChaosClusterEnv, scenario: Scenario, found: set[str], held: Sequence[str]) -> NDArray[np.bool_]:
    """Flat mask of the allowed actions that trigger (or, holding, start to trigger) a pending weakness."""
    per = weakness_actions(env, scenario, found, held)
    return np.any(per, axis=0) if len(per) else np.zeros(env.action_masks().size, dtype=bool)


def weakness_actions(env: ChaosClusterEnv, scenario: Scenario, found: set[str],
                     held: Sequence[str]) -> NDArray[np.bool_]:
    """One flat mask per pending weakness reachable now: the allowed actions towards it."""
    pending: list[PlantedWeakness] = [w for w in scenario.weaknesses if w.class_id not in found]
    allowed = env.action_masks()
    rows = []
    for w in pending:
        out = np.zeros((env.max_targets, N_KINDS, N_INTENSITIES, N_HOLD), dtype=bool)
        for trigger in w.surfacing_triggers:
            reqs = list(trigger.requires)
            if len(reqs) == 1:
                _mark(env, reqs[0], False, out)
            elif held:
                for r in reqs:
                    if r.target not in held:
                        _mark(env, r, False, out)
            else:
                for r in reqs:
                    _mark(env, r, True, out)
        row = out.reshape(-1) & allowed
        if row.any():
            rows.append(row)
    return np.asarray(rows, dtype=bool).reshape(len(rows), allowed.size)


def imitation_target(per_weakness: NDArray[np.bool_]) -> NDArray[np.float16]:
    per = per_weakness.astype(np.float32)
    per /= per.sum(axis=1, keepdims=True)
    return (per.mean(axis=0)).astype(np.float16)


def collect(env: ChaosClusterEnv, states: int, *, seed: int) -> Demonstrations:
    """States of fresh training clusters, each with a random share of its weaknesses already found (and
    remembered in the history, so the student learns not to look there again), flaky and state-dependent
    ones sometimes tried and missed (so it learns they are worth a retry), and sometimes the first fault of
    a two-fault weakness held; labelled with the actions that would find a pending one."""
    rng = np.random.default_rng(seed)
    obs_list, masks, goods = [], [], []
    for i in range(states):
        obs, _ = env.reset(seed=seed + i)
        scenario = env.world.label
        if not isinstance(scenario, Scenario):
            raise TypeError("the teacher needs worlds labelled with their Scenario (envs.worlds.scenario_world)")
        share = rng.uniform(0.0, 0.8)
        found = {w.class_id for w in scenario.weaknesses if rng.random() < share}
        for w in scenario.weaknesses:
            if w.class_id in found:
                for req in w.triggers[0].requires:
                    if req.target in env.targets:
                        obs = env.remember(req.target, sorted(req.kinds)[0], found=True)
        for w in scenario.weaknesses:  # tried and missed: a flaky or state-dependent weakness is worth a retry
            if w.class_id not in found and w.kind in ("flaky", "state_dependent") and rng.random() < 0.5:
                for req in w.triggers[0].requires:
                    if req.target in env.targets:
                        obs = env.remember(req.target, sorted(req.kinds)[0], found=False)
        held: list[str] = []
        pairs = [w for w in scenario.weaknesses if w.class_id not in found and len(w.triggers[0].requires) > 1]
        if pairs and rng.random() < 0.3:
            first = pairs[int(rng.integers(len(pairs)))].triggers[0].requires[0]
            good = np.zeros(env.action_masks().size, dtype=bool)
            mark = good.reshape(env.max_targets, N_KINDS, N_INTENSITIES, N_HOLD)
            _mark(env, first, True, mark)
            options = np.flatnonzero(good & env.action_masks())
            if options.size:
                obs, _, _, _, info = env.step(int(options[int(rng.integers(options.size))]))
                result = info.get("result")
                held = [result.injection.fault.target] if result is not None and result.held else []
        per = weakness_actions(env, scenario, found, held)
        if len(per):
            obs_list.append(obs)
            masks.append(env.action_masks())
            goods.append(imitation_target(per))
    return Demonstrations(np.asarray(obs_list, dtype=np.float32), np.asarray(masks, dtype=bool),
                          np.asarray(goods, dtype=np.float16))
