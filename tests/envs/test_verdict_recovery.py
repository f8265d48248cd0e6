"""``recover_s`` counts from the revert: a bound that heals while the fault is still active has not
recovered from the revert, and recovery is never negative."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from envs.cluster import SteadyStateSample
from envs.spec import ClusterSpec, Slo
from envs.verdict import judge
from tests.envs.sim.sim_specs import NS, deployment, nodes, service

FRONT_SVC = f"{NS}/Service/front"


def _spec() -> ClusterSpec:
    return ClusterSpec("v", nodes(2), (deployment("front", 2),), (service("front", entry=True, slo=Slo(0.99, 500.0)),))


def _s(t: float, avail: float = 1.0) -> SteadyStateSample:
    return SteadyStateSample(time_s=t, availability={FRONT_SVC: avail}, latency_p99_ms={FRONT_SVC: 50.0})


def test_a_bound_that_heals_during_the_fault_recovers_at_the_first_good_sample_after_the_revert() -> None:
    # broken at 15, healed at 30 while the fault is still on (a restarted pod), reverted at 40
    [b] = judge(_spec(), _s(0), [_s(15, 0.5), _s(30)], [_s(45), _s(60)], started_s=0, reverted_s=40,
                sample_every_s=15)
    assert b.recover_s == 5.0


def test_a_breach_that_lasts_past_the_revert_recovers_when_it_ends() -> None:
    [b] = judge(_spec(), _s(0), [_s(15, 0.5)], [_s(30, 0.4), _s(45, 0.5), _s(60)], started_s=0, reverted_s=20,
                sample_every_s=15)
    assert b.recover_s == 40.0


@given(during=st.lists(st.booleans(), min_size=1, max_size=8), after=st.lists(st.booleans(), max_size=8),
       revert_offset=st.floats(min_value=0.0, max_value=14.0))
def test_recovery_is_never_before_the_revert(during: list[bool], after: list[bool], revert_offset: float) -> None:
    samples = [_s(15.0 * (i + 1), 1.0 if ok else 0.5) for i, ok in enumerate(during + after)]
    reverted_s = 15.0 * len(during) + revert_offset
    breaches = judge(_spec(), _s(0), samples[:len(during)], samples[len(during):], started_s=0,
                     reverted_s=reverted_s, sample_every_s=15)
    for b in breaches:
        if b.recover_s is None:
            continue
        assert b.recover_s >= 0
        healed_at = reverted_s + b.recover_s  # recover_s is rounded to the millisecond
        assert any(abs(s.time_s - healed_at) <= 1e-3 and s.availability[FRONT_SVC] == 1.0 for s in samples)
