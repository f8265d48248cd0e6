"""[weaknesses]: how findings become weaknesses with tickets, how fixes are verified and weaknesses retested."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.config.parse import setting


@dataclass(frozen=True)
class WeaknessSettings:
    """[weaknesses]: one ticket per root cause, its fix verified in the twin, retests that close it."""

    tickets: Literal["weakness", "finding"] = setting("weakness", doc=(
        '"weakness": one ticket per weakness (root cause) in every exporter, new reproductions as comments, '
        'resolved by a retest; "finding": one ticket per finding, as before weaknesses existed.'))
    verify_seeds: int = setting(8, minimum=1, maximum=200, doc=(
        "Simulations per reproducing experiment, before and after a fix, when the twin verifies it. Eight "
        "catch a weakness that shows one time in three (a lost leader among three pods) with 96 % certainty."))
    verify_reproductions: int = setting(6, minimum=1, maximum=200, doc=(
        "Reproducing experiments (findings) re-run per weakness to verify its fix; the mildest faults first."))
    retest_attempts: int = setting(3, minimum=1, maximum=50, doc=(
        "Tries of each reproducing experiment in a retest before a weakness counts as no longer reproducing "
        "(some show only in some states: a checkpoint phase, which pod leads)."))
