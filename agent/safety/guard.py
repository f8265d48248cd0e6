"""The safety layer: the one place that decides which faults may be injected where, and why not.

``SafetyGuard`` implements ``envs.cluster.ActionGuard``. ``mask`` gives every (target, kind,
intensity) at once for the policy; ``check`` refuses a single fault with a reason (the daemon calls it
on its final choice, as defence in depth); ``explain`` says why an action is masked. All three read the
same rule layers, so the mask and the refusal can never disagree. docs/safety.md lists the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from agent.config.safety import SafetySettings
from agent.errors import SafetyError
from agent.safety.budget import ErrorBudget
from agent.safety.facts import NO_PDB, Identity, TargetFacts, gather, identities
from agent.safety.killswitch import FileKillSwitch, KillSwitch
from agent.safety.reach import (
    BYPASSES_PDB,
    KIND_INDEX,
    NEEDS_GPU,
    NEEDS_PIPELINE,
    NEEDS_PODS,
    NODE_KIND,
    NODE_VARIANT,
    K,
    workload_hits,
)
from agent.safety.scope import Scope
from envs.cluster import ClusterState, Injection
from envs.faults import CATALOG, FAULT_KINDS, INTENSITY_NAMES, Fault
from envs.spec import ClusterSpec

ACTIVE_OUTCOMES = ("applied", "dry_run")
"""Injections that hold a slot: applied ones, and in dry run the ones that stand for them."""

Why = Callable[[int, int, int], str]


class DryRunRefusal(SafetyError):
    """The guard allows the fault, but safety.dry_run is "plan": journal it as planned, inject nothing."""


Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Layer:
    """One rule: where it allows (broadcastable to (T, K, 3)) and why it refuses a cell."""

    name: str
    ok: NDArray[np.bool_]
    why: Why


def _action(facts: TargetFacts, t: int, k: int, i: int) -> str:
    return f"{FAULT_KINDS[k].value}[{INTENSITY_NAMES[i]}] on {facts.targets[t]}"


_Cached = tuple[ClusterState, tuple[str, ...], TargetFacts, list[Layer], Mask]


class SafetyGuard:
    """Guardrails from [safety], the game day's error budget and the kill switch."""

    def __init__(self, settings: SafetySettings, *, agent_namespace: str, budget: ErrorBudget | None = None,
                 kill_switch: KillSwitch | None = None) -> None:
        self.settings = settings
        self.scope = Scope(settings, agent_namespace=agent_namespace)
        self.budget = budget if budget is not None else ErrorBudget(settings.error_budget)
        self.kill_switch = kill_switch if kill_switch is not None else FileKillSwitch(settings.halt_file)
        self._cache: _Cached | None = None
        self._identities: tuple[ClusterSpec, dict[str, Identity]] | None = None

    # -- the ActionGuard protocol ---------------------------------------------------------------

    def mask(self, state: ClusterState, targets: Sequence[str], active: Sequence[Injection]) -> Mask:
        """True where a fault may be injected now; shape (len(targets), len(FAULT_KINDS), 3)."""
        facts, _, static = self._static(state, targets)
        out = static.copy()
        for layer in self._dynamic_layers(facts, active):
            out &= layer.ok
        return out

    def check(self, state: ClusterState, fault: Fault, active: Sequence[Injection]) -> None:
        """Raise SafetyError unless ``fault`` may be injected now; DryRunRefusal for any fault in dry run."""
        reason = self.explain(state, fault, active)
        if reason is not None:
            raise SafetyError(f"refused {fault.describe()}: {reason}")
        if self.settings.dry_run == "plan":
            raise DryRunRefusal(f'refused {fault.describe()}: safety.dry_run is "plan", nothing is injected')

    def explain(self, state: ClusterState, fault: Fault, active: Sequence[Injection]) -> str | None:
        """The first rule that masks ``fault`` (None: the mask allows it). Ignores dry run, so a plan
        can be checked with it."""
        cached = self._cache
        if cached is not None and cached[0] is state and fault.target in cached[2].index:
            facts, static, t = cached[2], cached[3], cached[2].index[fault.target]
        else:
            facts = gather(state, [fault.target], self.scope, self.settings.max_unavailable_share,
                           self._known(state.spec))
            static, t = self._static_layers(facts), 0
        k, i = KIND_INDEX[fault.kind], fault.intensity
        shape = (len(facts.targets), K, 3)
        for layer in [*self._dynamic_layers(facts, active), *static]:
            if not np.broadcast_to(layer.ok, shape)[t, k, i]:
                return layer.why(t, k, i)
        return None

    # -- rules that change between calls (active faults, budget, kill switch) ------------------

    def _dynamic_layers(self, facts: TargetFacts, active: Sequence[Injection]) -> list[Layer]:
        live = [a for a in active if a.outcome in ACTIVE_OUTCOMES]
        halted = self.kill_switch.is_halted()
        limit = self.settings.max_concurrent_faults
        busy_targets = {a.fault.target for a in live}
        busy = np.zeros((len(facts.targets), 1, 1), bool)
        for target in busy_targets:
            if target in facts.index:
                busy[facts.index[target]] = True
        return [
            Layer("kill_switch", np.array(not halted),
                  lambda t, k, i: "the kill switch is on (chaos-agent resume lifts it)"),
            Layer("error_budget", np.array(not self.budget.exhausted),
                  lambda t, k, i: f"the game day's error budget is spent ({self.budget.describe()})"),
            Layer("concurrency", np.array(len(live) < limit),
                  lambda t, k, i: f"{len(live)} faults are active; safety.max_concurrent_faults is {limit}"),
            Layer("busy_target", ~busy, lambda t, k, i: f"{facts.targets[t]} already has an active fault"),
        ]

    # -- rules that depend only on the cluster state: computed once per state ------------------

    def _static(self, state: ClusterState, targets: Sequence[str]
                ) -> tuple[TargetFacts, list[Layer], NDArray[np.bool_]]:
        key = tuple(targets)
        if self._cache is not None and self._cache[0] is state and self._cache[1] == key:
            return self._cache[2], self._cache[3], self._cache[4]
        facts = gather(state, key, self.scope, self.settings.max_unavailable_share, self._known(state.spec))
        layers = self._static_layers(facts)
        static = np.ones((len(key), K, 3), bool)
        for layer in layers:
            static &= layer.ok
        self._cache = (state, key, facts, layers, static)
        return facts, layers, static

    def _known(self, spec: ClusterSpec) -> dict[str, Identity]:
        """What the topology says about each workload: the spec changes far less often than the state."""
        if self._identities is None or self._identities[0] is not spec:
            self._identities = (spec, identities(spec, self.scope))
        return self._identities[1]

    def _static_layers(self, f: TargetFacts) -> list[Layer]:
        s = self.settings
        node = f.is_node[:, None]
        node3 = f.is_node[:, None, None]
        applies = (np.where(NODE_KIND[None], node, ~node) & (~NEEDS_PODS[None] | (f.pods > 0)[:, None])
                   & (~NEEDS_GPU[None] | f.gpu[:, None]) & (~NEEDS_PIPELINE[None] | f.pipeline[:, None]))
        node_scope = np.where(NODE_KIND[None] & node, f.node_scope_ok[:, NODE_VARIANT], True)

        hit = workload_hits(f.pods)
        desired, ready = f.desired[:, None, None], f.ready[:, None, None]
        unavailable_after = np.minimum(desired, np.maximum(0, desired - ready) + hit)
        w_share = (hit == 0) | (desired == 0) | (unavailable_after <= f.allowed_unavailable[:, None, None])
        w_last = (hit == 0) | (ready == 0) | (ready - hit >= 1)
        w_pdb = ~BYPASSES_PDB[None] | (hit <= f.pdb_allowed[:, None, None])

        def per_node(rule: str) -> NDArray[np.bool_]:
            return f.node_ok[rule][:, NODE_VARIANT, :]

        share = np.where(node3, per_node("share"), w_share)
        last = np.where(node3, per_node("last"), w_last) | (not s.protect_last_replica)
        pdb = np.where(node3, per_node("pdb") | ~BYPASSES_PDB[None], w_pdb) | (not s.respect_pdb_for_kills)

        def blast(rule: str, workload_why: Callable[[int, int, int, int], str]) -> Why:
            def why(t: int, k: int, i: int) -> str:
                if f.is_node[t]:
                    detail = f.node_offender.get((t, int(NODE_VARIANT[k]), i, rule), "")
                else:
                    detail = workload_why(t, k, i, int(hit[t, k, i]))
                return f"{_action(f, t, k, i)}: {detail}"
            return why

        kind_ok = np.array([k.value not in s.exclude_faults for k in FAULT_KINDS])
        return [
            Layer("exclude_faults", kind_ok[None, :, None],
                  lambda t, k, i: f"{FAULT_KINDS[k].value} is excluded (safety.exclude_faults)"),
            Layer("scope", f.scope_ok[:, None, None], lambda t, k, i: str(f.scope_reason[t])),
            Layer("applies", applies[:, :, None], lambda t, k, i: self._not_applicable(f, t, k)),
            Layer("node_scope", node_scope[:, :, None],
                  lambda t, k, i: str(f.node_scope_reason[t][int(NODE_VARIANT[k])])),
            Layer("max_unavailable_share", share, blast("share", lambda t, k, i, h: (
                f"takes {h} pod(s) of {f.targets[t]} ({f.ready[t]}/{f.desired[t]} ready); at most "
                f"{f.allowed_unavailable[t]} may be unavailable (safety.max_unavailable_share="
                f"{s.max_unavailable_share:g})"))),
            Layer("protect_last_replica", last, blast("last", lambda t, k, i, h: (
                f"takes {h} pod(s) of {f.targets[t]}, which has {f.ready[t]} ready: the last ready replica "
                "is protected (safety.protect_last_replica)"))),
            Layer("respect_pdb_for_kills", pdb, blast("pdb", lambda t, k, i, h: (
                f"deletes {h} pod(s) of {f.targets[t]} bypassing its PDB, which allows "
                f"{'any' if f.pdb_allowed[t] >= NO_PDB else f.pdb_allowed[t]} disruption(s) "
                "(safety.respect_pdb_for_kills)"))),
        ]

    @staticmethod
    def _not_applicable(f: TargetFacts, t: int, k: int) -> str:
        kind = FAULT_KINDS[k]
        target = f.targets[t]
        wants = CATALOG[kind].target
        if NODE_KIND[k] != f.is_node[t]:
            return f"{kind.value} targets a {wants}; {target} is not one"
        if NEEDS_PODS[k] and f.pods[t] == 0:
            return f"{kind.value} needs running pods; {target} has none"
        if NEEDS_GPU[k] and not f.gpu[t]:
            return f"{kind.value} needs GPUs; {target} has none"
        return f"{kind.value} applies to data pipeline workloads only; {target} is not one"
