"""Weaknesses as the agent keeps them: records in the findings store, tickets that follow them, retests.

The root-cause analysis itself is ``envs.weaknesses`` (pure); this package stores its result
(``store``), works out and verifies each fix after a game day (``flow``), keeps one ticket per weakness
in every exporter (``tickets``), re-runs what reproduced them (``retest``) and renders them (``render``).
Import the submodules directly: the exporters use ``model`` and this package uses the exporters.
"""
