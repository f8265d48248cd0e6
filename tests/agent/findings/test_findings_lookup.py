"""Finding lookup by id prefix: a unique prefix names one finding; an ambiguous one is refused, naming the
findings it matches, and never answers with whichever came first."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.findings import AmbiguousFindingKey, FindingStore, finding_show_text, findings_from_result
from agent.findings.model import Finding
from tests.agent.findings.sample_results import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _twin(base: Finding, suffix: str) -> Finding:
    return dataclasses.replace(base, id=f"F-ab1234567{suffix}", signature=f"sig-{suffix}")


def test_an_ambiguous_prefix_is_refused_with_the_matches(tmp_path: Path) -> None:
    base = findings_from_result(result(), injection_index=0, seen_at=T0)[0]
    with FindingStore(tmp_path / "f.sqlite") as store:
        first, second = (store.upsert(_twin(base, s))[0] for s in ("1", "2"))
        for key in ("F-ab", "F-ab1234567"):
            with pytest.raises(AmbiguousFindingKey, match=r"matches more than one finding \(F-ab12345671, "
                                                          r"F-ab12345672\); give more characters"):
                store.get(key)
            with pytest.raises(AmbiguousFindingKey):
                finding_show_text(store, key)  # `chaos-agent findings show`: one clear line, not a guess
        assert store.get("F-ab12345672") == second and store.get("F-ab12345671") == first
        assert store.get("sig-1") == first
        assert store.get("F-ab9") is None and store.get("F-a_") is None  # LIKE wildcards are literal


def test_an_ambiguous_prefix_names_a_few_of_many(tmp_path: Path) -> None:
    base = findings_from_result(result(), injection_index=0, seen_at=T0)[0]
    with FindingStore(tmp_path / "f.sqlite") as store:
        for s in "123456789":
            store.upsert(_twin(base, s))
        with pytest.raises(AmbiguousFindingKey, match=r"\(F-ab12345671, .*F-ab12345675, \.\.\.\)"):
            store.get("F-ab")
