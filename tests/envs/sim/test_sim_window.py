"""sample() reports request signals over the window since the previous sample, as a scrape would."""

from __future__ import annotations

from sim_specs import WEB, WEB_SVC, web_spec

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster


def test_an_outage_shorter_than_the_sampling_interval_is_seen() -> None:
    sim = SimulatedCluster(web_spec(replicas=1, startup_s=5.0), seed=0)
    sim.wait(60)
    assert sim.sample().availability[WEB_SVC] == 1.0
    sim.inject(Fault(FaultKind.POD_KILL, 0, WEB), injection_id="k")
    sim.wait(15)
    assert sim.instant().availability[WEB_SVC] == 1.0  # the replacement is ready before the scrape
    windowed = sim.sample().availability[WEB_SVC]
    assert 0.0 < windowed < 0.5  # yet most of the window was an outage
    sim.wait(15)
    assert sim.sample().availability[WEB_SVC] == 1.0  # the next window is clean


def test_latency_p99_over_a_window_follows_a_state_that_lasted_over_one_percent() -> None:
    sim = SimulatedCluster(web_spec(replicas=1), seed=0)
    sim.wait(60)
    base = sim.sample().latency_p99_ms[WEB_SVC]
    injection = sim.inject(Fault(FaultKind.NETWORK_LATENCY, 2, WEB), injection_id="l")
    sim.wait(1)
    sim.revert(injection)
    sim.wait(14)
    assert sim.sample().latency_p99_ms[WEB_SVC] > base + 1000  # 1 s of 15 s is over 1 %

