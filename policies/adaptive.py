"""Learning on the user's cluster: the trained policy is the prior, the cluster's memory the evidence.

Every outcome updates a per-cluster posterior over target x fault kind x intensity (``ClusterMemory``):
the chance that an action shows a weakness not known yet. A choice is the policy's distribution times,
for every action already tried here, a Thompson draw from its (target, kind)'s Beta posterior over the
prior mean, and a discount for repeating the very same action:

    p(a) ~ pi(a) * theta~(t, k) / E[theta] * a0 / (a0 + n(t, k, i)),   theta~ ~ Beta(a0 + new, b0 + rest)

so an action that keeps showing nothing loses probability, and one that showed a weakness the cluster
now knows is re-run only when re-verification is asked for (``retest``). A target and kind with
``max_fruitless`` tries since its last new evidence is not tried again until something changes (a new
weakness there, or its manifest). Untried actions keep the policy's probability: nothing is known.
Torch-free and sparse (only tried actions are touched), so the daemon's decision time holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.actions import KIND_INDEX, N_HOLD, N_INTENSITIES, N_KINDS, decode
from envs.faults import FAULT_KINDS, FaultKind
from envs.memory import ActionOutcome, ClusterMemory
from policies.base import Decision, Outcome, Strategy
from policies.combine import choice_distribution

_ROW = np.arange(N_INTENSITIES * N_HOLD)
_HOLD = np.arange(N_HOLD)


class NothingLeftToTry(ValueError):
    """Every allowed action's target and kind was tried ``max_fruitless`` times without new evidence."""


@dataclass(frozen=True)
class PosteriorSettings:
    prior_new: float = 1.0
    """Beta prior pseudo-count of tries that showed a new weakness (a0): the policy's guess is the mean."""
    prior_other: float = 1.0
    """Beta prior pseudo-count of tries that did not (b0). 1 and 1: one fruitless try takes a third off."""
    max_fruitless: int = 3
    """Tries of one target and fault kind without new evidence after which it is not tried again."""
    known_factor: float = 0.02
    """Weight left to an action that already showed a known weakness, unless re-verification is asked."""
    max_boost: float = 2.0
    """Cap on the factor of a target and kind that showed new weaknesses (more may hide there)."""


@dataclass(frozen=True)
class _Tally:
    cells: NDArray[np.float64]
    """(targets, kinds, intensities): the discount of each action tried before (1 where untried)."""
    cell_at: NDArray[np.int64]
    """Flat (target, kind, intensity) index of each action tried before: the sparse form of ``cells``."""
    cell_factor: NDArray[np.float64]
    rows: NDArray[np.int64]
    """(tried rows, 2): target and kind index of each target and kind tried before."""
    new: NDArray[np.float64]
    rest: NDArray[np.float64]
    capped: NDArray[np.bool_]


def outcome_kind(outcome: Outcome) -> ActionOutcome:
    if not outcome.injected:
        return "refused"
    if outcome.new_findings > 0:
        return "new"
    return "known" if outcome.refound > 0 else "nothing"


class AdaptivePolicy:
    """A strategy whose distribution is a prior strategy's, reweighted by the cluster's memory."""

    def __init__(self, prior: Strategy, memory: ClusterMemory | None = None, *,
                 settings: PosteriorSettings = PosteriorSettings(), retest: bool = False) -> None:
        self.prior = prior
        self.name = str(getattr(prior, "name", "prior"))
        self.memory = memory if memory is not None else ClusterMemory("unnamed")
        self.settings, self.retest = settings, retest
        self._own_memory = memory is None
        self._rng = np.random.default_rng(0)
        self._held: tuple[str, FaultKind] | None = None
        self._cache: tuple[tuple[str, ...], tuple[int, int, int, bool], _Tally] | None = None

    @property
    def sha256(self) -> str:
        return str(getattr(self.prior, "sha256", ""))

    def attach(self, memory: ClusterMemory) -> None:
        """Learn into ``memory`` from now on (a daemon: the cluster's persisted memory)."""
        self.memory, self._own_memory = memory, False
        self._cache = None

    # -- Strategy ---------------------------------------------------------------------------------

    def reset(self, rng: np.random.Generator) -> None:
        """A new game day: a benchmark's own memory starts empty, an attached one continues."""
        self._rng = rng
        self._held = None
        self.prior.reset(rng)
        if self._own_memory:
            self.memory = ClusterMemory(self.memory.cluster)

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        return self._reweigh(decision, self.prior.probabilities(decision))

    def distribution(self, decision: Decision, *, temperature: float, anomaly_weight: float) -> NDArray[np.float64]:
        base = choice_distribution(self.prior, decision, temperature=temperature, anomaly_weight=anomaly_weight)
        return self._reweigh(decision, base)

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        a = decode(outcome.action)
        target = decision.targets[a.target]
        kind = outcome_kind(outcome)
        self.memory.record(target, a.kind, a.intensity, kind)
        if kind == "new" and self._held is not None:  # the held fault took part in the new finding
            self.memory.streaks[self._held] = 0
        self._held = (target, a.kind) if a.hold and outcome.injected else None
        self.prior.observe(decision, outcome)

    # -- the posterior ----------------------------------------------------------------------------

    def factors(self, decision: Decision) -> NDArray[np.float64]:
        """Shape (targets, kinds, intensities): the weight of each action's prior probability."""
        tally = self._tally(decision.targets)
        out = tally.cells.copy()
        if len(tally.rows):
            out[tally.rows[:, 0], tally.rows[:, 1], :] *= self._row_factors(tally)[:, None]
        return out

    def _row_factors(self, tally: _Tally) -> NDArray[np.float64]:
        """One Thompson draw per tried target and kind, over the prior mean; 0 where it is capped."""
        s = self.settings
        theta = self._rng.beta(s.prior_new + tally.new, s.prior_other + tally.rest)
        mean = s.prior_new / (s.prior_new + s.prior_other)
        return np.where(tally.capped, 0.0, np.minimum(theta / mean, s.max_boost))

    def _tally(self, targets: tuple[str, ...]) -> _Tally:
        """The memory summed per target and kind, recomputed only when the memory or the targets changed."""
        version = (id(self.memory), self.memory.injections, len(self.memory.cells), self.retest)
        cached = self._cache
        if cached is not None and cached[0] is targets and cached[1] == version:
            return cached[2]
        s = self.settings
        index = {t: i for i, t in enumerate(targets)}
        cells = np.ones((len(targets), N_KINDS, N_INTENSITIES), dtype=np.float64)
        rows: dict[tuple[int, int], list[int]] = {}
        for (target, kind, intensity), counts in self.memory.cells.items():
            t = index.get(target)
            if t is None:
                continue
            k = KIND_INDEX[kind]
            row = rows.setdefault((t, k), [0, 0])
            row[0] += counts.new
            row[1] += counts.tries - counts.new
            factor = s.prior_new / (s.prior_new + counts.tries)
            if counts.showed_a_weakness and not self.retest:
                factor *= s.known_factor
            cells[t, k, intensity] *= factor
        keys = list(rows)
        tried = np.flatnonzero(cells.reshape(-1) != 1.0)
        tally = _Tally(
            cells=cells, cell_at=tried, cell_factor=cells.reshape(-1)[tried],
            rows=np.array(keys, dtype=np.int64).reshape(-1, 2),
            new=np.array([rows[r][0] for r in keys], dtype=np.float64),
            rest=np.array([rows[r][1] for r in keys], dtype=np.float64),
            capped=np.array([self.memory.streak(targets[t], FAULT_KINDS[k]) >= s.max_fruitless for t, k in keys],
                            dtype=bool))
        self._cache = (targets, version, tally)
        return tally

    def _reweigh(self, decision: Decision, p: NDArray[np.float64]) -> NDArray[np.float64]:
        """``p`` (a fresh array: changed in place) times the factors, touching only the tried actions."""
        if not self.memory.cells:
            return p
        tally = self._tally(decision.targets)
        if len(tally.rows):  # every intensity and hold of a tried target and kind
            first = (tally.rows[:, 0] * N_KINDS + tally.rows[:, 1]) * (N_INTENSITIES * N_HOLD)
            p[first[:, None] + _ROW] *= self._row_factors(tally)[:, None]
        if len(tally.cell_at):  # both holds of each tried action
            p[tally.cell_at[:, None] * N_HOLD + _HOLD] *= tally.cell_factor[:, None]
        total = p.sum()
        if not total > 0:
            raise NothingLeftToTry(
                f"every allowed action was tried {self.settings.max_fruitless} times on its target without "
                "new evidence; nothing is left to try on this cluster until it changes")
        p *= 1.0 / total
        return p
