"""Experiment results built the way envs.experiment builds them, for the findings, export and report tests."""

from __future__ import annotations

from envs.cluster import Injection, SteadyStateSample
from envs.experiment import ExperimentResult
from envs.faults import Fault, FaultKind
from envs.verdict import Breach

FRONTEND = "shop/Service/frontend"
API = "shop/Deployment/api"
WEB = "shop/Deployment/web"


def availability_samples(start: float, values: list[float]) -> list[SteadyStateSample]:
    return [
        SteadyStateSample(
            time_s=start + 15.0 * i, availability={FRONTEND: v}, latency_p99_ms={FRONTEND: 120.0}
        )
        for i, v in enumerate(values)
    ]


def result(
    *,
    kind: FaultKind = FaultKind.POD_KILL,
    intensity: int = 2,
    target: str = API,
    started: float = 1000.0,
    worst: float = 0.4,
    subjects: tuple[str, ...] = (API, WEB),
    held: tuple[Fault, ...] = (),
    with_latency: bool = False,
    breaches: bool = True,
) -> ExperimentResult:
    fault = Fault(kind, intensity, target)
    before = SteadyStateSample(
        time_s=started - 15, availability={FRONTEND: 1.0}, latency_p99_ms={FRONTEND: 120.0}
    )
    during = availability_samples(started + 15, [worst, worst + 0.1] if breaches else [1.0, 1.0])
    after = availability_samples(started + 150, [0.995, 1.0])
    found: list[Breach] = []
    if breaches:
        found += [
            Breach(
                violation="availability",
                subject=s,
                signal=f"{FRONTEND} availability",
                threshold=0.99,
                before=1.0,
                worst=worst,
                after=1.0,
                detect_s=15.0,
                recover_s=30.0,
                breach_s=30.0,
            )
            for s in subjects
        ]
        if with_latency:
            found.append(
                Breach(
                    violation="latency",
                    subject=API,
                    signal=f"{FRONTEND} latency_p99_ms",
                    threshold=500.0,
                    before=120.0,
                    worst=2300.0,
                    after=130.0,
                    detect_s=15.0,
                    recover_s=15.0,
                    breach_s=15.0,
                )
            )
    return ExperimentResult(
        injection=Injection(id=f"inj-{started:g}", fault=fault, outcome="applied"),
        concurrent=tuple(Injection(id=f"held-{i}", fault=h, outcome="applied") for i, h in enumerate(held)),
        breaches=tuple(found),
        before=before,
        during=tuple(during),
        after=tuple(after),
        started_s=started,
        reverted_s=started + 120,
        held=False,
    )
