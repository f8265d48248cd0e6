"""The trained policy as the daemon runs it: plain numpy arrays, JSON metadata, a sha256, no torch.

An exported policy is a folder with ``weights.npz`` (the per-target network's layers) and
``policy.json`` (format version, the feature names it was trained on, the weights' sha256, and how it
was trained). Loading refuses a folder whose weights do not hash to the recorded value or whose
features differ from this version's observation, so a tampered or stale policy never runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from envs.actions import PER_TARGET
from envs.observation import GLOBAL_FEATURES, TARGET_FEATURES
from policies.base import Decision, Outcome

FORMAT = "chaos-agent-policy/1"
LAYERS = ("enc_w1", "enc_b1", "enc_w2", "enc_b2", "head_w", "head_b")
DEFAULT_POLICY_DIR = Path(__file__).parent / "default"


class PolicyFileError(ValueError):
    """An exported policy is missing, corrupt, tampered with, or made for other features."""


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_arrays(arrays: dict[str, NDArray[np.float32]], out_dir: Path, *, training: dict[str, Any]) -> Path:
    """Write ``weights.npz`` and ``policy.json`` (with the weights' sha256) into ``out_dir``."""
    missing = [k for k in LAYERS if k not in arrays]
    if missing:
        raise PolicyFileError(f"cannot export: layers missing: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "weights.npz"
    with weights.open("wb") as f:
        payload: dict[str, Any] = {k: np.asarray(arrays[k], dtype=np.float32) for k in LAYERS}
        np.savez(f, **payload)
    meta = {
        "format": FORMAT, "weights_sha256": sha256_file(weights), "target_features": list(TARGET_FEATURES),
        "global_features": list(GLOBAL_FEATURES), "per_target_actions": PER_TARGET, "training": training,
    }
    (out_dir / "policy.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out_dir


@dataclass(frozen=True)
class RuntimePolicy:
    """The per-target network's forward pass in numpy, and its masked softmax."""

    arrays: dict[str, NDArray[np.float32]]
    sha256: str
    metadata: dict[str, Any]
    name: str = "rl"

    @classmethod
    def load(cls, directory: Path | None = None) -> RuntimePolicy:
        d = DEFAULT_POLICY_DIR if directory is None else directory
        meta_path, weights = d / "policy.json", d / "weights.npz"
        if not meta_path.is_file() or not weights.is_file():
            raise PolicyFileError(f"{d} is not an exported policy: it needs policy.json and weights.npz "
                                  "(made by `chaos-agent train --out DIR`)")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PolicyFileError(f"{meta_path} is not valid JSON: {e}") from e
        if meta.get("format") != FORMAT:
            raise PolicyFileError(f"{meta_path}: format {meta.get('format')!r} is not {FORMAT!r}")
        actual = sha256_file(weights)
        if actual != meta.get("weights_sha256"):
            raise PolicyFileError(f"{weights} has sha256 {actual}, but policy.json records "
                                  f"{meta.get('weights_sha256')}: refusing a policy that was changed")
        if meta.get("target_features") != list(TARGET_FEATURES) or meta.get("global_features") != list(
                GLOBAL_FEATURES):
            raise PolicyFileError(f"{d} was trained on other observation features than this version "
                                  "computes; retrain it with `chaos-agent train`")
        with np.load(weights, allow_pickle=False) as npz:
            arrays = {k: npz[k].astype(np.float32) for k in LAYERS}
        return cls(arrays=arrays, sha256=actual, metadata=meta)

    def logits(self, features: NDArray[np.float32], glob: NDArray[np.float32]) -> NDArray[np.float32]:
        """Shape (targets, PER_TARGET) for any number of targets (no padding needed).

        Same function as the torch network, reordered for speed: the global features' share of the
        first layer and the context's share of the head are computed once, not once per target.
        """
        a = self.arrays
        n_f = features.shape[1]
        w1 = a["enc_w1"]
        h = features @ w1[:, :n_f].T + (glob @ w1[:, n_f:].T + a["enc_b1"])
        np.maximum(h, 0.0, out=h)
        h = h @ a["enc_w2"].T + a["enc_b2"]
        np.maximum(h, 0.0, out=h)
        hidden = h.shape[1]
        context = h.mean(axis=0) if len(h) else np.zeros(hidden, dtype=np.float32)
        head = a["head_w"]
        out = h @ head[:, :hidden].T + (context @ head[:, hidden:].T + a["head_b"])
        return np.asarray(out, dtype=np.float32)

    def distribution(self, decision: Decision, *, temperature: float, anomaly_weight: float) -> NDArray[np.float64]:
        """``policies.combine.combine`` of this policy's distribution, in one float32 pass over the logits:
        softmax(logits / T + w * log1p(anomaly)) on the mask. Same result, a fraction of the time."""
        z = self.logits(decision.features, decision.glob)
        if temperature != 1.0:
            z *= np.float32(1.0 / temperature)
        if anomaly_weight:
            z += np.float32(anomaly_weight) * np.log1p(np.maximum(decision.anomaly, 0.0))[:, None].astype(np.float32)
        flat = z.reshape(-1)  # in place from here: at 1,000 targets every copy of 90,000 floats shows
        flat[~decision.mask.reshape(-1)] = -np.inf
        top = flat.max() if flat.size else -np.inf
        if not np.isfinite(top):
            raise ValueError("no action is allowed: the mask is empty")
        np.subtract(flat, top, out=flat)
        np.exp(flat, out=flat)
        p = flat.astype(np.float64)
        p /= p.sum()
        return p

    def probabilities(self, decision: Decision) -> NDArray[np.float64]:
        mask = decision.flat_mask
        allowed = np.flatnonzero(mask)
        if allowed.size == 0:
            raise ValueError("no action is allowed: the mask is empty")
        z = self.logits(decision.features, decision.glob).reshape(-1)[allowed].astype(np.float64)
        e = np.exp(z - z.max())
        p = np.zeros(mask.size, dtype=np.float64)
        p[allowed] = e / e.sum()
        return p

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def observe(self, decision: Decision, outcome: Outcome) -> None:
        pass
