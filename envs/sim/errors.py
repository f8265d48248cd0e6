"""The simulator's error for bad input (unknown targets, wrong target types, negative waits).

``envs`` cannot import ``agent.errors``; the agent maps this ``ValueError`` onto its own hierarchy.
"""

from __future__ import annotations


class SimulationError(ValueError):
    """A call to the simulator names something the cluster does not have, or asks the impossible."""
