"""The OOD suite on disk: one folder per case under benchmarks/ood, loaded through the digital twin.

A case is ``manifests/`` plus ``answer-key.toml``. Loading builds the twin's ``ClusterSpec`` from the
manifests exactly as a user's would be built; a case the twin cannot model at all (unreadable
manifests, nothing to simulate) is kept with the twin's reason instead of being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from envs.simulated_clusters import simulated_world
from envs.spec import ClusterSpec
from envs.twin import ManifestError, load_manifests
from policies.ood.gaps import twin_gaps
from policies.ood.keys import AnswerKey, load_answer_key

SUITE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "ood"
KEY_FILE = "answer-key.toml"
MANIFESTS = "manifests"


class SuiteError(ValueError):
    """The suite folder or a requested case does not exist."""


@dataclass(frozen=True)
class OodCase:
    name: str
    path: Path
    key: AnswerKey
    spec: ClusterSpec | None
    """The twin of the case's manifests; None when the twin cannot model the case at all."""
    unmodelled: str = ""
    """Why the twin cannot model the case (empty when it can)."""
    gaps: dict[str, str] = field(default_factory=dict)
    """Weakness id -> why the twin cannot show that weakness."""


def case_names(root: Path = SUITE_DIR) -> list[str]:
    """Every case folder under ``root`` (a folder holding an answer key), sorted."""
    if not root.is_dir():
        raise SuiteError(f"{root}: no OOD suite folder here; the suite lives in benchmarks/ood of the repository")
    return sorted(p.name for p in root.iterdir() if (p / KEY_FILE).is_file())


def load_case(path: Path) -> OodCase:
    key = load_answer_key(path / KEY_FILE)
    try:
        spec = load_manifests(path / MANIFESTS)
    except ManifestError as e:
        return OodCase(path.name, path, key, None, unmodelled=f"the twin cannot read the manifests: {e}")
    if not spec.workloads:
        reasons = "; ".join(spec.notes[:5]) or "no note"
        return OodCase(path.name, path, key, None, unmodelled=f"the twin models no workload ({reasons})")
    signals = simulated_world(spec, seed=0).steady.sample()
    return OodCase(path.name, path, key, spec, gaps=twin_gaps(key, spec, signals))


def load_suite(root: Path = SUITE_DIR, names: list[str] | None = None) -> list[OodCase]:
    """The cases under ``root`` (all, or those named, in the order given)."""
    known = case_names(root)
    chosen = known if names is None else names
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise SuiteError(f"unknown OOD case {unknown[0]!r}; known: {', '.join(known)}")
    return [load_case(root / n) for n in chosen]
