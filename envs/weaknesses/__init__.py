"""Weaknesses: findings grouped by root cause, with a remediation verified in the twin.

``RootCause`` is the closed taxonomy of causes (``taxonomy``). The design basis that decides which
breaches can be weaknesses at all lives in ``envs.design_basis``. See docs/weaknesses.md.
"""

from envs.weaknesses.taxonomy import KNOWN_CAUSES, LABELS, RootCause

__all__ = ["KNOWN_CAUSES", "LABELS", "RootCause"]
