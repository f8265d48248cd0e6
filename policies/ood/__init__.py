"""The out-of-distribution benchmark: hand-written cases in benchmarks/ood, scored by their answer keys.

``run_ood`` plays every strategy on every case through the digital twin; ``load_suite`` reads the
cases; ``score`` decides what a finding surfaced. Nothing in training imports this package (an
import-linter contract keeps it so): the suite measures, it never teaches.
"""

from policies.ood.keys import (
    AnswerKey,
    AnswerKeyError,
    KeyDecoy,
    KeyWeakness,
    Reveal,
    load_answer_key,
    parse_answer_key,
)
from policies.ood.report import console_table, markdown
from policies.ood.run import CaseTrace, play_case, run_ood
from policies.ood.scoring import Scored, score
from policies.ood.suite import SUITE_DIR, OodCase, SuiteError, case_names, load_case, load_suite

__all__ = [
    "SUITE_DIR", "AnswerKey", "AnswerKeyError", "CaseTrace", "KeyDecoy", "KeyWeakness", "OodCase", "Reveal", "Scored",
    "SuiteError", "case_names", "console_table", "load_answer_key", "load_case", "load_suite", "markdown",
    "parse_answer_key", "play_case", "run_ood", "score",
]
