"""The cluster simulator, the digital twin, the scenario generator and the Gymnasium environment.

This layer owns no I/O and imports neither ``agent`` nor ``policies``.
"""
