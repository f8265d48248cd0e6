"""Scoring one finding of an OOD game day against the case's answer key.

A finding is the faults that were active together, the violation and the workloads the verdict named.
Beyond the design basis (``envs.design_basis``) it is impact: counted apart, never a weakness and never
false. Within it, it surfaces a key weakness when its violation is one of the weakness's, one of the
weakness's affected workloads is among the finding's, and the faults meet one of the weakness's
``reveal`` requirements. Anything else is a false finding, and a decoy finding when a fault was on a
decoy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds, classify
from envs.faults import CATALOG, Fault
from envs.spec import ClusterSpec
from policies.ood.keys import AnswerKey, KeyWeakness, Reveal

Verdict = Literal["weakness", "false", "decoy", "impact"]

Hosts = Callable[[Fault], frozenset[str]]
"""A node fault -> the workload keys that had a pod on its node when the fault started."""


@dataclass(frozen=True)
class Scored:
    verdict: Verdict
    weakness: str | None = None
    """The key weakness's id when the verdict is ``weakness``."""
    reason: str = ""
    """Why it is impact (the design basis's reason), or which decoy it hit."""


def meets(reveal: Reveal, faults: Sequence[Fault], spec: ClusterSpec, hosts: Hosts) -> bool:
    """True when faults of the requirement's kinds hit its target (``min_nodes`` distinct nodes of it)."""
    labels = {n.key: n.label_map for n in spec.nodes}
    hit: set[str] = set()
    for f in faults:
        if f.kind not in reveal.kinds or f.intensity < reveal.min_intensity:
            continue
        if reveal.target is not None:
            ok = f.target == reveal.target
        elif reveal.node_of is not None:
            ok = CATALOG[f.kind].target == "node" and reveal.node_of in hosts(f)
        else:
            assert reveal.node_label is not None
            name, value = reveal.node_label
            ok = labels.get(f.target, {}).get(name) == value
        if ok:
            hit.add(f.target)
    return len(hit) >= reveal.min_nodes


def surfaces(weakness: KeyWeakness, faults: Sequence[Fault], violation: str, affected: Sequence[str],
             spec: ClusterSpec, hosts: Hosts) -> bool:
    if violation not in weakness.violations or not set(weakness.affected) & set(affected):
        return False
    return any(meets(r, faults, spec, hosts) for r in weakness.reveal)


def score(key: AnswerKey, spec: ClusterSpec, faults: Sequence[Fault], violation: str, affected: Sequence[str],
          hosts: Hosts, bounds: DesignBasisBounds = DEFAULT_BOUNDS) -> Scored:
    """The finding's verdict; when several weaknesses match, the first in the key's order."""
    basis = classify(faults, spec, bounds)
    if not basis.within:
        return Scored("impact", reason=basis.reason)
    for w in key.weaknesses:
        if surfaces(w, faults, violation, affected, spec, hosts):
            return Scored("weakness", weakness=w.id)
    decoys = {d.target for d in key.decoys}
    hit = next((f.target for f in faults if f.target in decoys), None)
    if hit is not None:
        return Scored("decoy", reason=f"a fault on the decoy {hit}")
    return Scored("false")
