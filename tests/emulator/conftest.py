from tests.emulator.fixtures import k8s_emulator, k8s_emulator_chaos_mesh

__all__ = ["k8s_emulator", "k8s_emulator_chaos_mesh"]
