"""The action space: fault kind x intensity x target, and whether to hold the fault for the next step.

Actions are flat integers so Gymnasium's ``Discrete`` space and MaskablePPO can use them; ``Action``
is the decoded form. Holding a fault keeps it active while the next one is added, which is how the
agent reaches weaknesses that need two faults at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from envs.faults import FAULT_KINDS, INTENSITY_NAMES, FaultKind

N_KINDS = len(FAULT_KINDS)
N_INTENSITIES = len(INTENSITY_NAMES)
N_HOLD = 2
PER_TARGET = N_KINDS * N_INTENSITIES * N_HOLD
KIND_INDEX = {k: i for i, k in enumerate(FAULT_KINDS)}


@dataclass(frozen=True)
class Action:
    target: int
    kind: FaultKind
    intensity: int
    hold: bool

    def encode(self) -> int:
        return encode(self.target, KIND_INDEX[self.kind], self.intensity, int(self.hold))


def encode(target: int, kind: int, intensity: int, hold: int) -> int:
    return ((target * N_KINDS + kind) * N_INTENSITIES + intensity) * N_HOLD + hold


def decode(action: int) -> Action:
    rest, hold = divmod(int(action), N_HOLD)
    rest, intensity = divmod(rest, N_INTENSITIES)
    target, kind = divmod(rest, N_KINDS)
    return Action(target=target, kind=FAULT_KINDS[kind], intensity=intensity, hold=bool(hold))


def full_mask(applicable: NDArray[np.bool_], guard_mask: NDArray[np.bool_] | None, *, can_hold: bool,
              max_targets: int) -> NDArray[np.bool_]:
    """Flat action mask of length ``max_targets * PER_TARGET`` (padding targets masked)."""
    n = applicable.shape[0]
    m = np.broadcast_to(applicable[:, :, None], (n, N_KINDS, N_INTENSITIES)).copy()
    if guard_mask is not None:
        m &= guard_mask
    both = np.stack([m, m & can_hold], axis=-1)
    out = np.zeros((max_targets, N_KINDS, N_INTENSITIES, N_HOLD), dtype=bool)
    out[: min(n, max_targets)] = both[:max_targets]
    return out.reshape(-1)
