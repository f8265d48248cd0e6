"""Train the RL policy with MaskablePPO on generated clusters (and the twin), then export it.

Vectorised envs on every core, seeded, with checkpoints and optional TensorBoard logs. The export is
torch-free (``policies.runtime``): the daemon never loads the pickled SB3 model.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from envs.chaos_env import ChaosClusterEnv
from envs.cluster_under_test import WorldFactory
from envs.spec import ClusterSpec
from policies.runtime import RuntimePolicy, export_arrays

if TYPE_CHECKING:
    from policies.rl.teacher import Demonstrations


class TrainingRunError(ValueError):
    """A ``TrainingRun`` field out of its range; ``field`` names it, for callers that call it otherwise."""

    def __init__(self, field: str, requirement: str, value: object) -> None:
        super().__init__(f"{field} must be {requirement}, got {value}")
        self.field, self.requirement, self.value = field, requirement, value


@dataclass(frozen=True)
class TrainingRun:
    timesteps: int
    out_dir: Path
    seed: int = 0
    n_envs: int = 0
    """0: one env per core."""
    budget: int = 50
    max_targets: int = 64
    checkpoint_every: int = 50_000
    tensorboard: Path | None = None
    progress: bool = True
    learning_rate: float = 3e-4
    n_steps: int = 256
    batch_size: int = 256
    n_epochs: int = 4
    gamma: float = 0.97
    ent_coef: float = 0.01
    warm_start_states: int = 0
    """Training-cluster states a privileged teacher labels for behaviour cloning before PPO
    (``policies.rl.teacher``); 0 trains with PPO alone."""
    warm_start_epochs: int = 20
    dagger_rounds: int = 1
    """After cloning the teacher's game days: rounds of the student's own, relabelled by the teacher."""
    clusters: int = 150
    """Generated training clusters (with their answer keys) the game days are played on."""
    families: tuple[str, ...] = ()
    """Topology families to train on (empty: all); leave-one-family-out trains without one."""
    key_cache: Path | None = Path("var/cache/answer-keys")
    """Where the training clusters' answer keys are kept between runs (None: swept every run)."""
    init_policy: Path | None = None
    """An exported policy (its sha256 checked) whose weights start the run: PPO fine-tuning of a policy
    trained by imitation, without a pickle and without cloning again."""
    critic_warmup: int = 0
    """PPO steps at the start that train only the critic (the actor frozen): a fresh value function
    first, so the first policy updates follow real advantages, not noise."""

    def __post_init__(self) -> None:
        for name in ("timesteps", "n_envs", "warm_start_states", "dagger_rounds", "critic_warmup"):
            if getattr(self, name) < 0:
                raise TrainingRunError(name, ">= 0", getattr(self, name))
        for name in ("budget", "max_targets", "n_steps", "batch_size", "n_epochs", "warm_start_epochs", "clusters"):
            if getattr(self, name) < 1:
                raise TrainingRunError(name, ">= 1", getattr(self, name))
        if not self.learning_rate > 0:
            raise TrainingRunError("learning_rate", "> 0", self.learning_rate)
        if self.ent_coef < 0:
            raise TrainingRunError("ent_coef", ">= 0", self.ent_coef)


def _mixed_twin(pool: WorldFactory, twin: ClusterSpec) -> WorldFactory:
    """PPO on the generated clusters and the twin of the user's manifests (the twin 30 % of episodes)."""
    from envs.simulated_clusters import fixed_world, mixed

    return mixed(pool, fixed_world(twin), weights=(0.7, 0.3))


def training_pool(run: TrainingRun, say: Callable[[str], None] | None = None) -> WorldFactory:
    """``run.clusters`` generated training clusters of ``run.families`` with their answer keys (cached)."""
    from envs.scenarios import TRAINING, generate_cluster
    from envs.simulated_clusters import pool_worlds
    from policies.keys import keyed

    # Leaving a family out drops its clusters from the same pool, so every split shares the cached keys.
    clusters = [generate_cluster(seed, TRAINING) for seed in range(run.clusters)]
    if run.families:
        clusters = [c for c in clusters if c.family in run.families]
    if not clusters:
        raise TrainingRunError("families", "families some of the clusters belong to", ", ".join(run.families))
    return pool_worlds(keyed(clusters, cache=run.key_cache, workers=run.n_envs, progress=say))


def _make_env(run: TrainingRun, worlds: WorldFactory, rank: int) -> Any:
    def build() -> ChaosClusterEnv:
        env = ChaosClusterEnv(worlds, budget=run.budget, max_targets=run.max_targets)
        env.reset(seed=run.seed * 1000 + rank)
        return env

    return build


def warm_start(model: Any, run: TrainingRun, factory: WorldFactory) -> float:
    """Behaviour cloning from the privileged teacher, then DAgger rounds on the student's own game days;
    returns the final cross-entropy. Game days are played on every core (``run.n_envs`` workers).
    ``factory`` gives keyed clusters: the teacher needs the answer keys (never the twin)."""
    say = _progress(run)
    rng = np.random.default_rng(run.seed)
    demos = collect_parallel(run, factory, run.warm_start_states, seed=run.seed * 7919 + 1)
    say(f"teacher: {len(demos)} states of its own game days")
    loss = _clone(model.policy, demos, run.warm_start_epochs, run.batch_size, rng)
    say(f"cloned: cross-entropy {loss:.3f}")
    for r in range(run.dagger_rounds):
        more = collect_parallel(run, factory, run.warm_start_states // 2, seed=run.seed * 7919 + 100_003 * (r + 1),
                                explore=0.1, student=arrays_from_policy(model.policy))
        demos = demos + more
        loss = _clone(model.policy, demos, max(run.warm_start_epochs // 2, 1), run.batch_size, rng)
        say(f"DAgger round {r + 1}/{run.dagger_rounds}: {len(more)} states of the student's game days "
            f"relabelled; cross-entropy {loss:.3f}")
    return loss


def _progress(run: TrainingRun) -> Callable[[str], None]:
    started = time.monotonic()

    def say(message: str) -> None:
        if run.progress:
            print(f"train [{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    return say


_WORKER_WORLDS: WorldFactory | None = None


def _init_worker(worlds: WorldFactory) -> None:
    global _WORKER_WORLDS
    _WORKER_WORLDS = worlds  # a fork-started pool inherits it without pickling (it may be a lambda)


def _collect_share(budget: int, max_targets: int, states: int, seed: int, explore: float,
                   student: dict[str, NDArray[np.float32]] | None) -> Demonstrations:
    from policies.rl.teacher import collect, runtime_student

    assert _WORKER_WORLDS is not None
    env = ChaosClusterEnv(_WORKER_WORLDS, budget=budget, max_targets=max_targets)
    return collect(env, states, seed=seed, explore=explore,
                   student=None if student is None else runtime_student(student, max_targets))


def collect_parallel(run: TrainingRun, worlds: WorldFactory, states: int, *, seed: int, explore: float = 0.2,
                     student: dict[str, NDArray[np.float32]] | None = None) -> Demonstrations:
    """``policies.rl.teacher.collect`` split over ``run.n_envs`` worker processes (one per core by default),
    each on its own seeds; ``student`` is the student's exported arrays (run in numpy, as the daemon does)."""
    import policies.rl.teacher  # noqa: F401  (loaded before the fork: every worker runs this very code)

    workers = max(1, min(run.n_envs or (os.cpu_count() or 1), states))
    shares = [states // workers + (1 if w < states % workers else 0) for w in range(workers)]
    jobs = [(run.budget, run.max_targets, n, seed + 1_000_003 * w, explore, student) for w, n in enumerate(shares)]
    if workers == 1:
        _init_worker(worlds)
        return _collect_share(*jobs[0])
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(worlds,)) as pool:
        parts = pool.starmap(_collect_share, jobs)
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


def _clone(policy: Any, demos: Demonstrations, epochs: int, batch_size: int, rng: np.random.Generator) -> float:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # the env workers are idle while cloning
    try:
        return _clone_epochs(policy, demos, epochs, batch_size, rng)
    finally:
        torch.set_num_threads(threads)


def _clone_epochs(policy: Any, demos: Demonstrations, epochs: int, batch_size: int,
                  rng: np.random.Generator) -> float:
    import torch

    policy.set_training_mode(True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)  # its own: PPO fine-tunes at a lower rate
    n = len(demos)
    loss_value = float("nan")
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            obs = torch.as_tensor(demos.obs[idx])
            dist = policy.get_distribution(obs, action_masks=demos.masks[idx])
            logp = torch.log_softmax(dist.distribution.logits, dim=-1)
            # cross-entropy to the teacher's distribution: mass-covering over every pending weakness,
            # rather than collapsing onto the easiest one
            target = torch.as_tensor(demos.target[idx], dtype=torch.float32)
            loss = -(target * logp.clamp(min=-1e4)).sum(dim=-1).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()
            loss_value = float(loss.item())
    policy.set_training_mode(False)
    return loss_value


def arrays_from_policy(policy: Any) -> dict[str, NDArray[np.float32]]:
    ext = policy.mlp_extractor

    def arr(t: Any) -> NDArray[np.float32]:
        return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)

    return {
        "enc_w1": arr(ext.encoder[0].weight), "enc_b1": arr(ext.encoder[0].bias),
        "enc_w2": arr(ext.encoder[2].weight), "enc_b2": arr(ext.encoder[2].bias),
        "head_w": arr(ext.head.weight), "head_b": arr(ext.head.bias),
    }


def load_arrays(policy: Any, arrays: dict[str, NDArray[np.float32]]) -> None:
    """The inverse of ``arrays_from_policy``: an exported policy's weights into the torch actor."""
    import torch

    ext = policy.mlp_extractor
    layers = {"enc_w1": ext.encoder[0].weight, "enc_b1": ext.encoder[0].bias, "enc_w2": ext.encoder[2].weight,
              "enc_b2": ext.encoder[2].bias, "head_w": ext.head.weight, "head_b": ext.head.bias}
    with torch.no_grad():
        for name, param in layers.items():
            if tuple(param.shape) != arrays[name].shape:
                raise TrainingRunError("init_policy", f"a policy of this network's shape ({name} {tuple(param.shape)})",
                                       arrays[name].shape)
            param.copy_(torch.as_tensor(arrays[name]))


@contextlib.contextmanager
def _actor_frozen(policy: Any) -> Iterator[None]:
    """Only the critic learns inside: the shared encoder and the action head keep their weights."""
    ext = policy.mlp_extractor
    actor = [*ext.encoder.parameters(), *ext.head.parameters()]
    for p in actor:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in actor:
            p.requires_grad_(True)


def train(run: TrainingRun, *, twin: ClusterSpec | None = None, worlds: WorldFactory | None = None,
          command: str = "") -> Path:
    """Train for ``run.timesteps`` steps and export into ``run.out_dir``; returns the export folder.

    ``worlds`` replaces the generated training clusters (tests use a small fixed one).
    """
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from policies.rl.network import PerTargetPolicy

    n_envs = run.n_envs or (os.cpu_count() or 1)
    torch.set_num_threads(1)
    labelled = worlds or training_pool(run, _progress(run))
    ppo_worlds = worlds or (labelled if twin is None else _mixed_twin(labelled, twin))
    fns = [_make_env(run, ppo_worlds, i) for i in range(n_envs)]
    vec = SubprocVecEnv(fns, start_method="fork") if n_envs > 1 else DummyVecEnv(fns)
    model = MaskablePPO(
        PerTargetPolicy, vec, seed=run.seed, learning_rate=run.learning_rate, n_steps=run.n_steps,
        batch_size=run.batch_size, n_epochs=run.n_epochs, gamma=run.gamma, ent_coef=run.ent_coef,
        policy_kwargs={"max_targets": run.max_targets}, verbose=0,
        tensorboard_log=None if run.tensorboard is None else str(run.tensorboard),
    )
    callbacks: list[BaseCallback] = [CheckpointCallback(save_freq=max(run.checkpoint_every // n_envs, 1),
                                    save_path=str(run.out_dir / "checkpoints"), name_prefix="ppo")]
    started = time.monotonic()
    if run.init_policy is not None:
        load_arrays(model.policy, RuntimePolicy.load(run.init_policy).arrays)
    if run.warm_start_states:
        warm_start(model, run, labelled)
    if run.timesteps and run.critic_warmup:
        with _actor_frozen(model.policy):
            model.learn(total_timesteps=run.critic_warmup, callback=callbacks, progress_bar=run.progress)
    if run.timesteps:
        model.learn(total_timesteps=run.timesteps, callback=callbacks, progress_bar=run.progress,
                    reset_num_timesteps=not run.critic_warmup)
    elapsed = time.monotonic() - started
    vec.close()
    (run.out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    model.save(run.out_dir / "checkpoints" / "final")
    training = {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(run).items()},
                "n_envs": n_envs, "seconds": round(elapsed, 1), "command": command,
                "twin": twin.name if twin is not None else None}
    return export_arrays(arrays_from_policy(model.policy), run.out_dir, training=training)


def export_checkpoint(checkpoint: Path, out_dir: Path, *, command: str = "") -> Path:
    """Export a saved MaskablePPO checkpoint (``checkpoints/*.zip``) to the torch-free format."""
    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(checkpoint, device="cpu")
    training = {"checkpoint": str(checkpoint), "timesteps": int(model.num_timesteps), "command": command}
    return export_arrays(arrays_from_policy(model.policy), out_dir, training=training)
