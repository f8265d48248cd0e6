"""Baseline load: size the entry loads nobody gave so that no service runs above half its capacity, each entry
point scaled only by the services its own requests reach, and say so when given loads already overload a
service before any fault (the steady state could not hold, and every experiment would be skipped)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from envs.profile import backing_map
from envs.spec import ClusterSpec

TARGET_UTILISATION = 0.5


def reach(spec: ClusterSpec, entry: str, backing: Mapping[str, tuple[str, ...]]) -> dict[str, float]:
    """Requests per second reaching each Service from one request per second at ``entry``: every call of every
    workload behind a Service passes its per-request share on (cached calls pass none), as the simulator does;
    calls closing a cycle are dropped."""
    workloads = {w.key: w for w in spec.workloads}
    services = {s.key for s in spec.services}

    def callees(svc: str) -> list[tuple[str, float]]:
        return [(c.service, c.per_request) for wk in backing.get(svc, ()) for c in workloads[wk].calls
                if c.service in services and c.cache_ttl_s <= 0]

    order: list[str] = []
    state: dict[str, int] = {entry: 1}
    stack = [(entry, iter(callees(entry)))]
    while stack:  # depth-first post-order; its reverse is a topological order of what the entry reaches
        svc, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[svc] = 2
            order.append(svc)
            stack.pop()
        elif nxt[0] not in state:
            state[nxt[0]] = 1
            stack.append((nxt[0], iter(callees(nxt[0]))))
    rank = {svc: i for i, svc in enumerate(reversed(order))}
    rate = {svc: 0.0 for svc in rank}
    rate[entry] = 1.0
    for svc in reversed(order):
        for callee, share in callees(svc):
            if rank[callee] > rank[svc]:  # not a call back up the cycle
                rate[callee] += rate[svc] * share
    return rate


def baseline_load(spec: ClusterSpec) -> dict[str, float]:
    """Requests per second reaching each Service at baseline: the entry loads carried along the calls."""
    backing = backing_map(spec)
    load: dict[str, float] = {}
    for s in spec.services:
        if s.entrypoint and s.load_rps > 0:
            for key, rate in reach(spec, s.key, backing).items():
                load[key] = load.get(key, 0.0) + s.load_rps * rate
    return load


def utilisation(spec: ClusterSpec) -> dict[str, float]:
    """Baseline load over capacity (replicas x per-pod rps of the workloads behind) per loaded Service."""
    backing = backing_map(spec)
    capacity = {w.key: w.replicas * w.capacity_rps_per_pod for w in spec.workloads}
    out = {}
    for key, rps in baseline_load(spec).items():
        cap = sum(capacity[k] for k in backing.get(key, ()))
        if cap > 0 and rps > 0:
            out[key] = rps / cap
    return out


def fit_default_loads(spec: ClusterSpec, defaulted: frozenset[str]) -> tuple[ClusterSpec, list[str]]:
    """Scale each defaulted entry load down until no service its requests reach exceeds ``TARGET_UTILISATION``."""
    notes: list[str] = []
    use = utilisation(spec)
    backing = backing_map(spec)
    scaled = {}
    for s in spec.services:
        if s.key not in defaulted or not s.entrypoint:
            continue
        reached = [k for k, rate in reach(spec, s.key, backing).items() if rate > 0 and k in use]
        worst = max(reached, key=lambda k: (use[k], k), default=None)
        if worst is not None and use[worst] > TARGET_UTILISATION:
            scaled[s.key] = (TARGET_UTILISATION / use[worst], worst)
    if scaled:
        services = tuple(replace(s, load_rps=round(s.load_rps * scaled[s.key][0], 3)) if s.key in scaled else s
                         for s in spec.services)
        spec = replace(spec, services=services)
        for s in services:
            if s.key in scaled:
                notes.append(f"{s.key}: assumed entry load lowered to {s.load_rps:g} rps so that {scaled[s.key][1]}, "
                             f"which its requests reach, runs at most at {TARGET_UTILISATION:.0%} of its capacity")
        use = utilisation(spec)
    for key, u in sorted(use.items()):
        if u > 1.0:
            notes.append(f"{key}: receives {u:.1f}x its capacity at baseline (every request of its callers calls "
                         "it); the steady state cannot hold before any fault: lower chaos-agent.io/load-rps on "
                         "the entry point or raise chaos-agent.io/capacity-rps-per-pod")
    return spec, notes
