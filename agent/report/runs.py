"""Which experiments and findings of the store a report covers: one run (the latest by default) or all."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agent.errors import ChaosAgentError
from agent.findings.experiments import ExperimentRecord
from agent.findings.model import Finding
from agent.findings.store import FindingStore

ALL = "all"


@dataclass(frozen=True)
class ChosenRun:
    run: str | None
    """The run's id; None for every run together."""
    experiments: list[ExperimentRecord]
    findings: list[Finding]
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        which = "every run" if self.run is None else f"run {self.run}"
        return f"{which}: {len(self.experiments)} injections, {len(self.findings)} findings"


def select_run(store: FindingStore, run: str | None) -> ChosenRun:
    """The experiments of ``run`` (the latest when None; ``all`` for every run, numbered on) and the findings
    they surfaced. A store without experiments (written before they were kept) gives its findings alone."""
    findings = store.all()
    if run == ALL:
        experiments = [dataclasses.replace(r, injection=n) for n, r in enumerate(store.experiments(), start=1)]
        return _chosen(None, experiments, findings)
    chosen = run or store.latest_run()
    if chosen is None:
        return ChosenRun(None, [], findings, notes=(
            f"{store.path} holds no experiment (an agent before this version kept findings only): the report "
            "lists the findings without the injections, the budget burned or the timeline",))
    experiments = store.experiments(chosen)
    if not experiments:
        raise ChaosAgentError(f"no run {chosen!r} in {store.path}; pass --run with a run id from the store, or all")
    return _chosen(chosen, experiments, findings)


def _chosen(run: str | None, experiments: list[ExperimentRecord], findings: list[Finding]) -> ChosenRun:
    surfaced = {s for r in experiments for s in r.signatures}
    return ChosenRun(run, experiments, [f for f in findings if f.signature in surfaced])
