"""PodDisruptionBudgets: may the Eviction API evict this pod now?

As the disruption controller computes it: healthy = Ready pods the PDB selects, expected = the
desired replicas of their controllers; percentages round up. An unhealthy pod may be evicted while
the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from envs.sim.errors import SimulationError
from envs.sim.state import Pod
from envs.spec import PdbSpec

if TYPE_CHECKING:
    from envs.sim.cluster import SimulatedCluster


def _scaled(value: int | str, expected: int, pdb: PdbSpec) -> int:
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        try:
            return math.ceil(float(text[:-1]) / 100.0 * expected - 1e-9)
        except ValueError as e:
            raise SimulationError(
                f"PDB {pdb.namespace}/{pdb.name}: {value!r} is not a percentage like '50%'"
            ) from e
    try:
        return int(text)
    except ValueError as e:
        raise SimulationError(
            f"PDB {pdb.namespace}/{pdb.name}: {value!r} is neither a count nor a percentage"
        ) from e


def desired_healthy(sim: SimulatedCluster, pi: int) -> tuple[int, int]:
    """(currently healthy, desired healthy) for PDB ``pi``."""
    pdb = sim.spec.pdbs[pi]
    members = sim.c.pdb_workloads[pi]
    healthy = sum(p.ready for w in members for p in sim.wls[w].pods)
    expected = sum(sim.wls[w].desired for w in members)
    if pdb.min_available is not None:
        want = _scaled(pdb.min_available, expected, pdb)
    elif pdb.max_unavailable is not None:
        want = expected - _scaled(pdb.max_unavailable, expected, pdb)
    else:
        want = 0
    return healthy, want


def eviction_blocker(sim: SimulatedCluster, pod: Pod) -> PdbSpec | None:
    """The PDB that forbids evicting ``pod`` now, or None when the eviction is allowed."""
    for pi in sim.c.wl_pdbs[pod.w]:
        healthy, want = desired_healthy(sim, pi)
        allowed = healthy - want >= 1 if pod.ready else healthy >= want
        if not allowed:
            return sim.spec.pdbs[pi]
    return None
