from tests.emulator.fixtures import k8s_emulator

__all__ = ["k8s_emulator"]
