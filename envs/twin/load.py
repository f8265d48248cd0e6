"""Baseline load: size the entry loads nobody gave so the busiest service runs at half its capacity,
and say so when given loads already overload a service before any fault (the steady state could not
hold, and every experiment would be skipped)."""

from __future__ import annotations

from dataclasses import replace

from envs.profile import utilisation
from envs.spec import ClusterSpec

TARGET_UTILISATION = 0.5


def fit_default_loads(spec: ClusterSpec, defaulted: frozenset[str]) -> tuple[ClusterSpec, list[str]]:
    """Scale the defaulted entry loads down until no service exceeds ``TARGET_UTILISATION``."""
    notes: list[str] = []
    use = utilisation(spec)
    worst_key = max(use, key=lambda k: use[k], default=None)
    if defaulted and worst_key is not None and use[worst_key] > TARGET_UTILISATION:
        scale = TARGET_UTILISATION / use[worst_key]
        services = tuple(replace(s, load_rps=round(s.load_rps * scale, 3)) if s.key in defaulted else s
                         for s in spec.services)
        spec = replace(spec, services=services)
        for s in services:
            if s.key in defaulted:
                notes.append(f"{s.key}: assumed entry load lowered to {s.load_rps:g} rps so that {worst_key}, "
                             f"which every request reaches, runs at {TARGET_UTILISATION:.0%} of its capacity")
        use = utilisation(spec)
    for key, u in sorted(use.items()):
        if u > 1.0:
            notes.append(f"{key}: receives {u:.1f}x its capacity at baseline (every request of its callers calls "
                         "it); the steady state cannot hold before any fault: lower chaos-agent.io/load-rps on "
                         "the entry point or raise chaos-agent.io/capacity-rps-per-pod")
    return spec, notes
