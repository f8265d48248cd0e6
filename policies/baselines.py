"""The strategies people use today, as docs/benchmark-protocol.md defines them: none of them learns.

kube-monkey (pod kill only), uniform random over the whole action space, incident-weighted random
(a prior over fault families), and a round-robin suite that runs every single fault in a fixed order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS
from envs.faults import FAMILIES, FAULT_KINDS, FaultKind, family_of
from policies.base import Decision, Outcome, masked_uniform

INCIDENT_PRIOR: dict[str, float] = {"pod": 0.35, "network": 0.25, "node": 0.2, "gpu": 0.1, "data": 0.1}
"""How often each fault family causes incidents, roughly as public postmortem surveys rank them."""


def _single(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Only actions that do not hold the fault: the baselines run one fault at a time."""
    m = mask.copy()
    m[..., 1] = False
    return m


class _Stateless:
    name = "stateless"

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        pass


class PodKill(_Stateless):
    """kube-monkey: kill pods of opted-in workloads, uniformly."""

    name = "kube_monkey"

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        m = np.zeros_like(decision.mask)
        k = KIND_INDEX[FaultKind.POD_KILL]
        m[:, k, :, 0] = decision.mask[:, k, :, 0]
        if not m.any():
            m = _single(decision.mask)
        return masked_uniform(m.reshape(-1))


class UniformRandom(_Stateless):
    name = "uniform_random"

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        return masked_uniform(_single(decision.mask).reshape(-1))


class IncidentWeighted(_Stateless):
    """Pick a family by its incident prior (among families with an allowed action), then uniformly."""

    name = "incident_weighted"

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        m = _single(decision.mask)
        p = np.zeros(m.shape, dtype=np.float64)
        fam_of = np.array([FAMILIES.index(family_of(k)) for k in FAULT_KINDS])
        open_families = {f for f in range(len(FAMILIES)) if m[:, fam_of == f].any()}
        weight = sum(INCIDENT_PRIOR[FAMILIES[f]] for f in open_families)
        for f in open_families:
            sub = m[:, fam_of == f]
            p[:, fam_of == f] = sub / sub.sum() * INCIDENT_PRIOR[FAMILIES[f]] / weight
        return p.reshape(-1)


class RoundRobin:
    """A fixed suite, as Litmus or Chaos Toolkit runs it: each fault kind, each intensity, each target."""

    name = "round_robin"

    def __init__(self) -> None:
        self._done: set[tuple[int, int, int]] = set()

    def reset(self, rng: np.random.Generator) -> None:
        self._done = set()

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        m = decision.mask
        for k in range(N_KINDS):
            for i in range(N_INTENSITIES):
                for t in range(m.shape[0]):
                    if m[t, k, i, 0] and (k, i, t) not in self._done:
                        p = np.zeros(m.shape, dtype=np.float64)
                        p[t, k, i, 0] = 1.0
                        return p.reshape(-1)
        if not m[..., 0].any():
            return masked_uniform(m.reshape(-1))
        self._done.clear()  # the suite has run through: start it again
        return self.probabilities(decision)

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        t, rest = divmod(outcome.action, N_KINDS * N_INTENSITIES * N_HOLD)
        k, rest = divmod(rest, N_INTENSITIES * N_HOLD)
        self._done.add((k, rest // N_HOLD, t))
