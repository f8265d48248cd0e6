"""ChaosCluster-v0: a game day of fault injections on a cluster, as a Gymnasium environment.

## Description
Each step is one chaos experiment: the agent picks a fault kind, an intensity and a target (a
workload or a node), and may *hold* the fault so that it stays active through the next step. The
env checks the steady state, injects, watches the signals, reverts and judges (``envs.experiment``).
A weakness is a steady-state bound that held before and broke under the fault.

## Action Space
``Discrete(max_targets * 15 * 3 * 2)``: target x fault kind (``envs.faults.FAULT_KINDS``) x intensity
(low, medium, high) x hold; see ``envs.actions`` for the encoding. Masks come from what can apply to
each target and from the injected ``ActionGuard`` (the safety layer): ``env.action_masks()`` and
``info["action_mask"]`` (int8) carry the same mask. A held fault can only be held while none is.

## Observation Space
``Box`` of ``max_targets * N_TARGET_FEATURES + N_GLOBAL_FEATURES`` floats: per-target features
(``envs.observation.TARGET_FEATURES``: placement, replicas, PDB, probes, GPU, checkpointing, monitors,
call-graph position, live readiness, anomaly score, what was tried there and what it found), zero
padded past the cluster's targets (``present`` = 0), then global features (budget left, findings, the
held fault). Nothing of the scenario's hidden weakness ids.

## Rewards
``envs.reward.reward``: severity + novelty bonus per new weakness, minus blast cost (minutes of SLO
breach), minus a penalty per weakness seen again, minus a small penalty for an action that injected
nothing. ``info["reward_terms"]`` carries every term. A finding is an ``envs.symptoms.Symptom``; it is
new when the weakness it shows was not found before (``_identity``: in training the answer key's
weakness, elsewhere the root-cause analysis's ``W-...`` id), however many faults or nodes show it; the
cluster's memory (``options["memory"]`` at reset) carries the ones found in earlier game days.
Symptoms under faults beyond the design basis are impact: no weakness, only their blast.
``info["findings"]`` holds the new symptoms, ``info["all_findings"]`` every symptom of the step,
``info["weaknesses"]`` the identity of each within-basis one.

## Episode End
Terminated when the injection budget of the game day is spent. Truncation comes from
``max_episode_steps`` at registration.

## Version History
* v0: initial version. A finding seen again is now recognised by the weakness it shows (before: by its
  violation, fault targets and affected workloads); beyond-design-basis breaches earn no novelty.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from envs.actions import PER_TARGET, Action, decode, full_mask
from envs.cluster import ActionGuard, Injection
from envs.cluster_under_test import World, WorldFactory
from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds, classify
from envs.experiment import ExperimentResult, Timing, run_experiment, wait_for_steady_state
from envs.faults import Fault
from envs.memory import ClusterMemory
from envs.observation import (
    N_GLOBAL_FEATURES,
    N_TARGET_FEATURES,
    History,
    global_features,
    pack,
    target_features,
)
from envs.profile import TopologyProfile, profile
from envs.reward import RewardWeights, reward
from envs.scenarios.scoring import score_symptom
from envs.spec import ClusterSpec
from envs.symptoms import Symptom, symptoms_of
from envs.weaknesses import Case, diagnose
from envs.weaknesses import weakness_id as component_id


def weakness_identity(spec: ClusterSpec, result: ExperimentResult, symptom: Symptom,
                      bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> str | None:
    """The weakness a symptom shows (``W-...``, one per root cause and component, as the findings store
    names it), or None when its faults are beyond the design basis (impact, never a weakness)."""
    case = Case("", symptom.violation, symptom.faults, symptom.affected, symptom.worst, result.footprint,
                symptom.severity)
    d = diagnose(spec, case, bounds)
    return None if d.cause is None else component_id(d.component)


class ChaosClusterEnv(gym.Env[NDArray[np.float32], np.int64]):
    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012 - Gymnasium declares it as a plain attribute

    def __init__(self, world_factory: WorldFactory | None = None, *, budget: int = 50, max_targets: int = 64,
                 timing: Timing = Timing(), guard: ActionGuard | None = None,
                 weights: RewardWeights = RewardWeights(), warmup_s: tuple[float, float] = (0.0, 3600.0),
                 bounds: DesignBasisBounds = DEFAULT_BOUNDS, render_mode: str | None = None) -> None:
        if budget < 1:
            raise ValueError(f"budget must be >= 1 injection, got {budget}")
        if max_targets < 1:
            raise ValueError(f"max_targets must be >= 1, got {max_targets}")
        if world_factory is None:
            from envs.simulated_clusters import training_worlds

            world_factory = training_worlds()
        self.world_factory = world_factory
        self.budget, self.max_targets, self.timing = budget, max_targets, timing
        self.guard, self.weights, self.warmup_s, self.bounds = guard, weights, warmup_s, bounds
        self.render_mode = render_mode
        n_obs = max_targets * N_TARGET_FEATURES + N_GLOBAL_FEATURES
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n_obs,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(max_targets * PER_TARGET)
        self._world: World | None = None
        self._profile: TopologyProfile | None = None
        self._history = History(0)
        self._held: Injection | None = None
        self._known: set[str] = set()
        """Identities of the weaknesses found so far (``_identity``), in this game day or, from the
        cluster's memory, in earlier ones."""
        self._used = 0
        self._mask = np.zeros(self.action_space.n, dtype=bool)
        self._noop_only = False
        self._episode = "00000000"

    # -- Gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        if self._world is not None and self._held is not None:
            self._world.backend.revert(self._held)
        self._world = self.world_factory(self.np_random)
        self._profile = profile(self._world.spec)
        # A daemon passes the cluster's memory of earlier game days: what was tried where, what is known.
        memory: ClusterMemory | None = (options or {}).get("memory")
        if memory is None:
            self._history, known = History(len(self._profile.targets)), set()
        else:
            self._history, known = History.from_memory(memory, self._profile.targets), set(memory.known)
        self._held, self._known, self._used = None, known, 0
        # Injection ids must be unique across runs, as the journal outlives them: a daemon passes its run id
        # in ``options["run_id"]``; otherwise they are drawn from np_random, so a seeded episode repeats.
        run_id = (options or {}).get("run_id")
        self._episode = str(run_id) if run_id else f"{int(self.np_random.integers(2**32)):08x}"
        lo, hi = self.warmup_s
        if hi > 0:
            self._world.backend.wait(float(self.np_random.uniform(lo, hi)))
        obs = self._observe()
        return obs, {"action_mask": self._mask.astype(np.int8), "targets": self._profile.targets}

    def step(self, action: np.int64 | int) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        assert self._world is not None and self._profile is not None, "call reset() first"
        a = decode(int(action))
        self._used += 1
        info: dict[str, Any] = {"action": a, "findings": [], "injected": False}
        if not self._mask[int(action)] or self._noop_only:
            info["skipped"] = "action not allowed by the mask"
            result = None
        else:
            result = self._experiment(a, info)
        new, refound = self._score(result, info)
        terms = reward(new_severities=[f.severity for f in new], refound=refound,
                       breach_s=0.0 if result is None else result.budget_burned_s,
                       injected=info["injected"], weights=self.weights)
        info["reward_terms"] = terms.as_dict()
        info["result"] = result
        terminated = self._used >= self.budget
        if terminated and self._held is not None:
            self._world.backend.revert(self._held)
            self._held = None
        obs = self._observe()
        info["action_mask"] = self._mask.astype(np.int8)
        return obs, terms.total, terminated, False, info

    @property
    def anything_allowed(self) -> bool:
        """False when the mask leaves nothing to do (every action refused by the guard)."""
        return not self._noop_only

    def action_masks(self) -> NDArray[np.bool_]:
        return self._mask.copy()

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._profile is None:
            return None
        held = "none" if self._held is None else self._held.fault.describe()
        return f"injections {self._used}/{self.budget}, weaknesses found {len(self._known)}, held: {held}"

    def close(self) -> None:
        if self._world is not None and self._held is not None:
            self._world.backend.revert(self._held)
            self._held = None

    # -- internals -------------------------------------------------------------------------------
    @property
    def world(self) -> World:
        assert self._world is not None, "call reset() first"
        return self._world

    @property
    def targets(self) -> tuple[str, ...]:
        assert self._profile is not None, "call reset() first"
        return self._profile.targets

    def _fault_for(self, a: Action) -> Fault:
        target = self.targets[a.target]
        base = Fault(kind=a.kind, intensity=a.intensity, target=target)
        duration = self.timing.duration_of(a.kind, base.magnitude)
        if a.hold:  # outlive this experiment and the next one; revert is explicit anyway
            duration += self.timing.recovery_s + 2 * max(self.timing.fault_duration_s, 600.0)
        return replace(base, duration_s=duration)

    def _experiment(self, a: Action, info: dict[str, Any]) -> ExperimentResult | None:
        world = self.world
        before = wait_for_steady_state(world.spec, world.backend, world.steady, self.timing)
        if before is None:
            info["skipped"] = "steady state did not hold before the injection"
            return None
        held = (self._held,) if self._held is not None else ()
        self._held = None
        result = run_experiment(
            spec=world.spec, backend=world.backend, steady=world.steady, fault=self._fault_for(a),
            injection_id=f"{self._episode}-{self._used}", timing=self.timing, held=held, hold=a.hold, before=before,
            converged=world.converged,
        )
        info["injected"] = result.injection.outcome == "applied"
        if result.held:
            self._held = result.injection
        return result

    def _score(self, result: ExperimentResult | None, info: dict[str, Any]) -> tuple[list[Symptom], int]:
        if result is None:
            return [], 0
        found = symptoms_of(result)
        fault = result.injection.fault
        info["all_findings"] = found
        info["weaknesses"] = []
        info["beyond_design_basis"] = beyond = bool(found) and not classify(
            list(found[0].faults), self.world.spec, self.bounds).within
        if beyond:  # impact, not a weakness: no novelty, no severity, only the budget it burned
            info["findings"] = []
            self._history.record(self._profile_index(fault.target), fault.kind, False)
            return [], 0
        new: list[Symptom] = []
        for f in found:
            identity = self._identity(result, f)
            info["weaknesses"].append(identity)
            if identity not in self._known:
                self._known.add(identity)
                new.append(f)
        self._history.record(self._profile_index(fault.target), fault.kind, bool(found), new=bool(new))
        info["findings"] = new
        return new, len(found) - len(new)

    def _identity(self, result: ExperimentResult, symptom: Symptom) -> str:
        """What makes a finding new: the weakness it shows, one per root cause however many faults or nodes
        show it. In training, the weakness of the cluster's answer key (privileged, for the reward only);
        elsewhere the root-cause analysis's (``weakness_identity``), as the findings store names it."""
        scenario = self.world.label
        if getattr(scenario, "weaknesses", None):
            _, cid = score_symptom(scenario, symptom, result.footprint, self.bounds)
            if cid is not None:
                return f"key/{cid}"
        return weakness_identity(self.world.spec, result, symptom, self.bounds) or symptom.key

    def _profile_index(self, target: str) -> int:
        assert self._profile is not None
        return self._profile.index[target]

    def _observe(self) -> NDArray[np.float32]:
        world, prof = self.world, self._profile
        assert prof is not None
        state = world.backend.snapshot()
        held = None
        if self._held is not None:
            held = (prof.index[self._held.fault.target], self._held.fault.kind)
        feats = target_features(prof, state, world.anomaly_scores(), self._history, held)
        glob = global_features(budget_left=1 - self._used / self.budget, findings=len(self._known), held=held)
        guard = None if self.guard is None else self.guard.mask(
            state, prof.targets, () if self._held is None else (self._held,))
        self._mask = full_mask(prof.applicable, guard, can_hold=self._held is None, max_targets=self.max_targets)
        if held is not None:  # never the same target twice at once
            t = held[0]
            self._mask.reshape(self.max_targets, -1)[t] = False
        self._noop_only = not self._mask.any()
        if self._noop_only:  # nothing may be done: action 0 stays open as a no-op so the episode can end
            self._mask[0] = True
        return pack(feats, glob, self.max_targets)

