"""The cluster simulator, the digital twin, the scenario generator and the Gymnasium environment.

This layer owns no I/O and imports neither ``agent`` nor ``policies``.
"""

from envs import registration as _registration  # noqa: F401  (registers ChaosCluster-v0)
