"""The RL policy's training side (torch, stable-baselines3). The daemon never imports this package:
it loads the exported arrays through ``policies.runtime``."""
