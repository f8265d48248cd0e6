"""Fault-selection strategies (baselines, bandits, RL), training, and the torch-free policy runtime."""
