"""The exported policy acts like the trained one, without torch, and refuses tampering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from envs.chaos_env import ChaosClusterEnv
from envs.simulated_clusters import simulated_world
from envs.spec import Call, ClusterSpec
from policies.base import Decision
from policies.runtime import PolicyFileError, RuntimePolicy
from policies.training import TrainingRun, train
from tests.envs.sim.sim_specs import NS, deployment, nodes, service


def tiny() -> ClusterSpec:
    front = deployment("front", 3, calls=(Call(f"{NS}/Service/back", timeout_ms=500, retries=0),))
    return ClusterSpec("tiny", nodes(3), (front, deployment("back", 1)),
                       (service("front", entry=True, load=50.0), service("back")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("policy")
    spec = tiny()
    run = TrainingRun(timesteps=256, out_dir=out, n_envs=1, budget=8, max_targets=8, n_steps=64, batch_size=32,
                      progress=False, checkpoint_every=10_000)
    return train(run, worlds=lambda rng: simulated_world(spec, seed=int(rng.integers(100))))


def test_export_round_trip_gives_the_same_distribution(trained: Path) -> None:
    import torch
    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(trained / "checkpoints" / "final", device="cpu")
    runtime = RuntimePolicy.load(trained)
    spec = tiny()
    env = ChaosClusterEnv(lambda rng: simulated_world(spec, seed=1), budget=8, max_targets=8)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = env.action_masks()
        with torch.no_grad():
            dist = model.policy.get_distribution(torch.as_tensor(obs[None]), action_masks=mask[None])
            torch_p = dist.distribution.probs.numpy()[0]
        decision = Decision.from_observation(obs, mask, env.targets, env.max_targets)
        numpy_p = runtime.probabilities(decision)
        n = numpy_p.size
        np.testing.assert_allclose(numpy_p, torch_p[:n], atol=1e-5)
        assert torch_p[n:].sum() < 1e-6  # padding targets are never chosen
        assert int(np.argmax(numpy_p)) == int(np.argmax(torch_p))
        obs, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
        if done:
            break


def test_metadata_records_hash_features_and_training(trained: Path) -> None:
    meta = json.loads((trained / "policy.json").read_text())
    assert meta["format"] == "chaos-agent-policy/1" and len(meta["weights_sha256"]) == 64
    assert meta["training"]["timesteps"] == 256 and "seconds" in meta["training"]


def test_a_changed_weight_file_is_refused(trained: Path, tmp_path: Path) -> None:
    copy = tmp_path / "p"
    copy.mkdir()
    for name in ("policy.json", "weights.npz"):
        (copy / name).write_bytes((trained / name).read_bytes())
    data = bytearray((copy / "weights.npz").read_bytes())
    data[-40] ^= 0xFF
    (copy / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(PolicyFileError, match="sha256"):
        RuntimePolicy.load(copy)


def test_other_features_or_missing_files_are_refused(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match=r"policy\.json and weights\.npz"):
        RuntimePolicy.load(tmp_path)
    copy = tmp_path / "q"
    copy.mkdir()
    (copy / "weights.npz").write_bytes((trained / "weights.npz").read_bytes())
    meta = json.loads((trained / "policy.json").read_text())
    meta["target_features"] = meta["target_features"][:-1]
    (copy / "policy.json").write_text(json.dumps(meta))
    with pytest.raises(PolicyFileError, match="retrain"):
        RuntimePolicy.load(copy)


def test_runtime_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; import policies.runtime, agent.loop, envs.chaos_env; "
            "print('torch' in sys.modules, 'stable_baselines3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["False", "False"]
