"""Genetic search in the style of Krkn-AI, as docs/benchmark-protocol.md specifies it.

A population of 10 single-fault scenarios (target, kind, intensity); each is run once to measure its
fitness = Prometheus-style impact + 5 on an SLO failure + 10 x failed-health-check share + 10 x
latency-outlier share. A new generation comes from roulette selection, crossover with probability
0.6 (the child takes the target of one parent and the fault of the other) and mutation with
probability 0.7 (one gene redrawn). Fitness rewards impact, not novelty, as in Krkn-AI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.actions import N_HOLD, N_INTENSITIES, N_KINDS
from policies.base import Decision, Outcome

POPULATION = 10
CROSSOVER = 0.6
MUTATION = 0.7


@dataclass(frozen=True)
class Genome:
    target: int
    kind: int
    intensity: int

    def index(self) -> int:
        return ((self.target * N_KINDS + self.kind) * N_INTENSITIES + self.intensity) * N_HOLD


def fitness(o: Outcome) -> float:
    return o.impact + 5.0 * o.slo_failed + 10.0 * o.health_fail_share + 10.0 * o.latency_outlier_share


class GeneticSearch:
    name = "genetic"

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self._queue: list[Genome] = []
        self._scored: list[tuple[Genome, float]] = []

    def reset(self, rng: np.random.Generator) -> None:
        self.rng, self._queue, self._scored = rng, [], []

    def _allowed(self, decision: Decision) -> NDArray[np.intp]:
        return np.argwhere(decision.mask[..., 0])

    def _random(self, allowed: NDArray[np.intp]) -> Genome:
        t, k, i = allowed[self.rng.integers(len(allowed))]
        return Genome(int(t), int(k), int(i))

    def _breed(self, decision: Decision, allowed: NDArray[np.intp]) -> list[Genome]:
        genomes = [g for g, _ in self._scored]
        fit = np.array([f for _, f in self._scored]) + 1e-6
        p = fit / fit.sum()
        children: list[Genome] = []
        while len(children) < POPULATION:
            a, b = (genomes[int(j)] for j in self.rng.choice(len(genomes), size=2, p=p))
            child = Genome(a.target, b.kind, b.intensity) if self.rng.random() < CROSSOVER else a
            if self.rng.random() < MUTATION:
                donor = self._random(allowed)
                gene = self.rng.integers(3)
                child = Genome(donor.target if gene == 0 else child.target,
                               donor.kind if gene == 1 else child.kind,
                               donor.intensity if gene == 2 else child.intensity)
            if not decision.mask[child.target, child.kind, child.intensity, 0]:
                child = self._random(allowed)
            children.append(child)
        return children

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        allowed = self._allowed(decision)
        if len(allowed) == 0:
            raise ValueError("no single-fault action is allowed")
        while self._queue and not decision.mask[self._queue[0].target, self._queue[0].kind,
                                                self._queue[0].intensity, 0]:
            self._queue.pop(0)
        if not self._queue:
            if len(self._scored) >= POPULATION:
                self._queue = self._breed(decision, allowed)
                self._scored = []
            else:
                self._queue = [self._random(allowed) for _ in range(POPULATION - len(self._scored))]
        p = np.zeros(decision.mask.size)
        p[self._queue[0].index()] = 1.0
        return p

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        if self._queue and self._queue[0].index() == outcome.action:
            self._scored.append((self._queue.pop(0), fitness(outcome)))
