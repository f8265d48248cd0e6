"""A per-target actor-critic for MaskablePPO: one shared network scores every target.

Each target's features, with the global features, go through the same MLP; a mean over the present
targets gives the cluster context; each target's logits (fault kind x intensity x hold) come from its
own embedding and the context. Weights do not depend on the number or order of targets, so a policy
trained on generated clusters applies to a cluster it has never seen, of any size.
"""

from __future__ import annotations

from typing import Any

import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from torch import nn

from envs.actions import PER_TARGET
from envs.observation import N_GLOBAL_FEATURES, N_TARGET_FEATURES, TARGET_FEATURES

PRESENT = TARGET_FEATURES.index("present")
HIDDEN = 96


class PerTargetExtractor(nn.Module):
    def __init__(self, max_targets: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.max_targets = max_targets
        self.encoder = nn.Sequential(
            nn.Linear(N_TARGET_FEATURES + N_GLOBAL_FEATURES, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
        )
        self.head = nn.Linear(2 * hidden, PER_TARGET)
        self.value = nn.Sequential(nn.Linear(hidden + N_GLOBAL_FEATURES, hidden), nn.ReLU())
        self.latent_dim_pi = max_targets * PER_TARGET
        self.latent_dim_vf = hidden

    def _embed(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        split = self.max_targets * N_TARGET_FEATURES
        targets = obs[:, :split].reshape(-1, self.max_targets, N_TARGET_FEATURES)
        glob = obs[:, split:]
        g = glob[:, None, :].expand(-1, self.max_targets, -1)
        h = self.encoder(torch.cat([targets, g], dim=-1))
        present = targets[..., PRESENT:PRESENT + 1]
        context = (h * present).sum(dim=1) / present.sum(dim=1).clamp(min=1.0)
        return h, context, glob

    def forward_actor(self, obs: torch.Tensor) -> torch.Tensor:
        h, context, _ = self._embed(obs)
        c = context[:, None, :].expand_as(h)
        return self.head(torch.cat([h, c], dim=-1)).reshape(obs.shape[0], -1)

    def forward_critic(self, obs: torch.Tensor) -> torch.Tensor:
        _, context, glob = self._embed(obs)
        return self.value(torch.cat([context, glob], dim=-1))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, context, glob = self._embed(obs)
        c = context[:, None, :].expand_as(h)
        logits = self.head(torch.cat([h, c], dim=-1)).reshape(obs.shape[0], -1)
        return logits, self.value(torch.cat([context, glob], dim=-1))


class PerTargetPolicy(MaskableActorCriticPolicy):
    """MaskablePPO's policy with the per-target extractor; the action net passes logits through."""

    def __init__(self, *args: Any, max_targets: int, **kwargs: Any) -> None:
        self._max_targets = max_targets
        super().__init__(*args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        # SB3 types this attribute as its MlpExtractor; any module with the same three methods works.
        self.mlp_extractor = PerTargetExtractor(self._max_targets)  # type: ignore[assignment]

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        # As in SB3's own _build: optimizer_class is typed as the base Optimizer, which takes no lr.
        self.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)
