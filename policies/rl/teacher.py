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
from envs.scenarios import FaultRequirement, PlantedWeakness, Scenario, score_finding


@dataclass
class Demonstrations:
    obs: NDArray[np.float32]
    masks: NDArray[np.bool_]
    good: NDArray[np.bool_]
    """Per state, every allowed action that would trigger a weakness not yet found."""


def _mark(env: ChaosClusterEnv, req: FaultRequirement, hold: bool, out: NDArray[np.bool_]) -> None:
    if req.target not in env.targets:
        return
    t = env.targets.index(req.target)
    for k in req.kinds:
        out[t, KIND_INDEX[k], req.min_intensity:, int(hold)] = True


def good_actions(env: ChaosClusterEnv, scenario: Scenario, found: set[str], held: Sequence[str]) -> NDArray[np.bool_]:
    """Flat mask of the allowed actions that trigger (or, holding, start to trigger) a pending weakness."""
    out = np.zeros((env.max_targets, N_KINDS, N_INTENSITIES, N_HOLD), dtype=bool)
    pending: list[PlantedWeakness] = [w for w in scenario.weaknesses if w.class_id not in found]
    for w in pending:
        for trigger in w.triggers:
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
    return out.reshape(-1) & env.action_masks()


def collect(env: ChaosClusterEnv, episodes: int, *, seed: int) -> Demonstrations:
    """Run the teacher for ``episodes`` game days on the env's (training) worlds; keep the states in
    which some allowed action leads to a pending weakness."""
    rng = np.random.default_rng(seed)
    obs_list, masks, goods = [], [], []
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        scenario = env.world.label
        if not isinstance(scenario, Scenario):
            raise TypeError("the teacher needs worlds labelled with their Scenario (envs.worlds.scenario_world)")
        found: set[str] = set()
        held: list[str] = []
        done = False
        while not done:
            good = good_actions(env, scenario, found, held)
            choices = np.flatnonzero(good) if good.any() else np.flatnonzero(env.action_masks())
            if good.any():
                obs_list.append(obs)
                masks.append(env.action_masks())
                goods.append(good)
            obs, _, done, _, info = env.step(int(choices[int(rng.integers(len(choices)))]))
            for f in info.get("all_findings", []):
                cid = score_finding(scenario, f.faults, f.violation, f.affected)
                if cid is not None:
                    found.add(cid)
            result = info.get("result")
            held = [result.injection.fault.target] if result is not None and result.held else []
    return Demonstrations(np.asarray(obs_list, dtype=np.float32), np.asarray(masks, dtype=bool),
                          np.asarray(goods, dtype=bool))
