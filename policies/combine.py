"""How the agent chooses: the policy's distribution, sharpened or softened by a temperature, times
anomaly weights, renormalised over the allowed actions. The daemon samples from the result."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from envs.actions import PER_TARGET


def combine(policy_p: NDArray[np.float64], anomaly: NDArray[np.float32], mask: NDArray[np.bool_], *,
            temperature: float, anomaly_weight: float) -> NDArray[np.float64]:
    """``p ~ policy_p ** (1 / temperature) * (1 + anomaly[target]) ** anomaly_weight`` on the mask."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logp = np.log(np.clip(policy_p, 1e-300, None)) / temperature
    per_action_anomaly = np.repeat(np.log1p(np.maximum(anomaly.astype(np.float64), 0.0)), PER_TARGET)
    logp = logp + anomaly_weight * per_action_anomaly[: logp.size]
    logp = np.where(mask & (policy_p > 0), logp, -np.inf)
    if not np.isfinite(logp).any():
        logp = np.where(mask, 0.0, -np.inf)
    if not np.isfinite(logp).any():
        raise ValueError("no action is allowed: the mask is empty")
    p = np.exp(logp - logp.max())
    return p / p.sum()
