"""Weaknesses: findings grouped by root cause, with a remediation verified in the twin.

``RootCause`` is the closed taxonomy of causes (``taxonomy``). The design basis that decides which
breaches can be weaknesses at all lives in ``envs.design_basis``. ``assess(spec, cases, bounds)``
diagnoses each finding (``explain.diagnose``) and groups them into ``Weakness`` records, one per root
cause, keeping beyond-design-basis breaches as ``Impact``. See docs/weaknesses.md.
"""

from envs.weaknesses.assess import Assessment, assess
from envs.weaknesses.explain import diagnose
from envs.weaknesses.records import Aspect, Case, Diagnosis, Impact, Weakness, weakness_id
from envs.weaknesses.taxonomy import KNOWN_CAUSES, LABELS, RootCause

__all__ = [
    "KNOWN_CAUSES", "LABELS", "Aspect", "Assessment", "Case", "Diagnosis", "Impact", "RootCause", "Weakness", "assess",
    "diagnose", "weakness_id",
]
