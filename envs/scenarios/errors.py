"""The scenario package's error for bad input (an unknown built-in name, impossible parameters).

``envs`` cannot import ``agent.errors``; the agent maps this ``ValueError`` onto its own hierarchy.
"""

from __future__ import annotations


class UnknownScenarioError(ValueError):
    """A scenario name that is not one of the built-ins."""
