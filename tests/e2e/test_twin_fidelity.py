"""Measured fidelity of the twin against the real control plane (issue 12, item 6): placement of the same
manifests, and recovery times of the same single faults, uncalibrated and calibrated by a first round.

Run with ``-s`` to see the table docs/benchmarks.md records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from envs.calibration import Calibration, Observation, apply
from envs.faults import Fault, FaultKind
from tests.e2e.twin_fidelity import (
    NODES,
    deploy,
    error,
    real_node_failure,
    real_placement,
    real_pod_kill,
    replace_pods,
    twin_fault,
    twin_of,
    twin_placement,
    zones,
)
from tests.servers.kubernetes import ControlPlane, require_control_plane

TARGET = 0.2
"""Recovery times within 20 % of the real control plane's (the issue's target)."""
SECOND = 1.0
"""Sub-second steps (a replacement after an eviction) are held to a second: they vary by that much."""
LEASE_RENEW_S = 10.0
"""A hollow kubelet renews its node Lease every 10 s (a quarter of its 40 s lease)."""


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of its own: four hollow nodes in three zones, nothing else on them."""
    bin_dir = require_control_plane()
    own = ControlPlane(tmp_path_factory.mktemp("fidelity-plane"), bin_dir, nodes=NODES)
    try:
        own.start()
        deploy(own.admin)
    except BaseException:
        own.stop()
        raise
    yield own
    own.stop()


def test_the_twin_places_pods_where_the_scheduler_does(plane: ControlPlane, tmp_path: Path) -> None:
    spec = twin_of(plane, tmp_path)
    from envs.sim import SimulatedCluster

    twin = twin_placement(SimulatedCluster(spec, seed=0))
    real = real_placement(plane.admin)
    print("\nplacement (workload: real | twin)")
    for key in sorted(real):
        print(f"  {key}: {real[key]} | {twin.get(key)}")
    assert zones(twin, spec) == zones(real, spec)  # what the constraints guarantee, ties aside
    assert twin == real


def test_recovery_times_match_once_calibrated(plane: ControlPlane, tmp_path: Path) -> None:
    spec = twin_of(plane, tmp_path)
    api = plane.admin
    # While a zone's only node is down, spread's replacement stays Pending on both: the zone is still an
    # eligible domain (nodeTaintsPolicy Ignore) holding none of its pods, so maxSkew 1 forbids the others.
    apps = [("plain", 3), ("anti", 2), ("near", 2)]
    # Round 1 calibrates the twin (what real game days would record) ...
    kills = [real_pod_kill(api, "plain", 3) for _ in range(3)]
    nodes = [real_node_failure(plane, node, apps, "spread") for node in ("n-c1", "n-a2")]
    seen = [Observation("recovery", "fidelity/Deployment/plain", k.recovered_s) for k in kills]
    for node, timed in zip(("Node/n-c1", "Node/n-a2"), nodes, strict=True):
        assert timed.not_ready_s is not None and timed.evicted_s is not None
        seen += [Observation("detection", node, timed.not_ready_s),
                 Observation("rescheduling", node, timed.evicted_s - timed.not_ready_s)]
    tuned = apply(Calibration().observe(seen), spec)
    # ... round 2 is compared: other pods, another node, on the placement the twin starts from.
    replace_pods(api)
    kill = real_pod_kill(api, "plain", 3)
    node = real_node_failure(plane, "n-b1", apps, "spread")
    names = [a for a, _ in apps]
    rows = []
    for name, fault, real in (
        ("pod kill (plain)", Fault(FaultKind.POD_KILL, 0, "fidelity/Deployment/plain"), kill),
        ("node failure (n-b1)", Fault(FaultKind.NODE_FAILURE, 2, "Node/n-b1", duration_s=900), node),
    ):
        raw, cal = twin_fault(spec, fault, names, "spread"), twin_fault(tuned, fault, names, "spread")
        assert cal.stuck == real.stuck, (name, cal.stuck, real.stuck)
        for what in ("not_ready_s", "evicted_s", "recovered_s"):
            r = getattr(real, what)
            if r is not None:
                rows.append((name, what, r, getattr(raw, what), getattr(cal, what)))
        if real.not_ready_s is not None:  # after detection: the toleration, then the replacements
            rows.append((name, "evicted - not_ready", real.evicted_s - real.not_ready_s,  # type: ignore[operator]
                         raw.evicted_s - raw.not_ready_s, cal.evicted_s - cal.not_ready_s))  # type: ignore[operator]
            rows.append((name, "recovered - evicted", real.recovered_s - real.evicted_s,  # type: ignore[operator]
                         raw.recovered_s - raw.evicted_s, cal.recovered_s - cal.evicted_s))  # type: ignore[operator]
    print("\nfault | timing | real s | twin s (error) | calibrated twin s (error)")
    for name, what, r, t, c in rows:
        print(f"{name} | {what} | {r:.1f} | {t:.1f} ({error(t, r):+.0%}) | {c:.1f} ({error(c, r):+.0%})")
    by = {(n, w): (r, c) for n, w, r, _, c in rows}
    # A pod's replacement is Ready within a second or two here, and that varies from kill to kill by more
    # than 20 % (the kubelet's 1 s relist): the twin is held to the real cluster's own spread at that scale.
    r, c = by[("pod kill (plain)", "recovered_s")]
    recoveries = [k.recovered_s for k in (*kills, kill)]
    spread = max(recoveries) - min(recoveries)
    print(f"pod kill recoveries on the real cluster: {', '.join(f'{x:.1f}' for x in recoveries)} s")
    assert abs(c - r) <= max(TARGET * r, spread, SECOND)
    # NotReady comes node-monitor-grace after the node's last Lease renewal, which is up to one renewal
    # interval (10 s for kubemark's 40 s lease) before the failure: a single failure's detection varies by
    # that much around the calibrated mean, however good the twin.
    r, c = by[("node failure (n-b1)", "not_ready_s")]
    assert abs(c - r) <= LEASE_RENEW_S
    # After detection the taint-eviction controller waits the 10 s toleration, but the taint itself comes
    # on the node lifecycle controller's next pass, later on a loaded machine: the twin is held to the
    # real cluster's own spread over the three failures, as for pod kills.
    failures = [*nodes, node]
    print("node failures on the real cluster (evicted - not_ready, recovered - evicted): "
          + ", ".join(f"({t.evicted_s - t.not_ready_s:.1f}, {t.recovered_s - t.evicted_s:.1f})"  # type: ignore[operator]
                      for t in failures))
    for what, step in (("evicted - not_ready", lambda t: t.evicted_s - t.not_ready_s),
                       ("recovered - evicted", lambda t: t.recovered_s - t.evicted_s)):
        r, c = by[("node failure (n-b1)", what)]
        steps = [step(t) for t in failures]
        assert abs(c - r) <= max(TARGET * r, max(steps) - min(steps), SECOND), (what, steps)
