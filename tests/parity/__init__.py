"""Parity of the simulator backend and the Kubernetes backend on the emulator."""
