"""Registration of the env with Gymnasium, as data."""

from gymnasium.envs.registration import register

register(id="ChaosCluster-v0", entry_point="envs.chaos_env:ChaosClusterEnv", max_episode_steps=1000)
