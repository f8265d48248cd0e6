"""[design_basis]: the faults the system is expected to survive (the single-failure criterion).

A breach under a fault within these bounds is a weakness; beyond them it is impact, reported in the
blast-radius map and never as a ticket. The env gets them as ``envs.design_basis.DesignBasisBounds``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from agent.config.parse import setting
from envs.design_basis import DEFAULT_BOUNDS, DesignBasisBounds

_D = DEFAULT_BOUNDS


def _finite(value: float) -> str | None:
    return None if math.isfinite(value) else "must be a finite number"


@dataclass(frozen=True)
class DesignBasisSettings:
    """[design_basis]: one pod, one node, one zone, one degraded dependency or data stage, one GPU."""

    pods_per_workload: int = setting(_D.pods_per_workload, minimum=0, maximum=1000, doc=(
        "Pods of one workload that may fail or be cut off at once. One: the single-failure criterion "
        "(pod_kill medium on a 2-replica workload takes one pod and is within; on 3 replicas it takes two)."))
    gpus_per_node: int = setting(_D.gpus_per_node, minimum=0, maximum=64, doc=(
        "GPU devices of a node that may fail at once: one device falling off the bus (XID 79)."))
    max_added_latency_ms: float = setting(_D.max_added_latency_ms, minimum=0, maximum=3_600_000, check=_finite, doc=(
        "Milliseconds of latency a degraded dependency may add per request: a slow disk, a GC pause."))
    max_jitter_ms: float = setting(_D.max_jitter_ms, minimum=0, maximum=3_600_000, check=_finite, doc=(
        "Milliseconds of jitter (standard deviation) a degraded dependency may add: a noisy network, "
        "not a broken one."))
    max_packet_loss: float = setting(_D.max_packet_loss, minimum=0, maximum=1, check=_finite, doc=(
        "Share of packets a degraded dependency may drop; beyond a third the link is effectively down."))
    max_cpu_stress: float = setting(_D.max_cpu_stress, minimum=0, maximum=1, check=_finite, doc=(
        "Share of a workload's CPU a noisy neighbour or a runaway thread may take: half its capacity."))
    max_gpu_memory_pressure: float = setting(_D.max_gpu_memory_pressure, minimum=0, maximum=1, check=_finite, doc=(
        "Share of a GPU's framebuffer another process may hold on a shared device."))
    max_drift_sigma: float = setting(_D.max_drift_sigma, minimum=0, maximum=1000, check=_finite, doc=(
        "Shift of a feature's distribution, in standard deviations, a pipeline must detect. Every drift "
        "of the fault ladder (up to 3 sigma) is within: a larger shift is easier to see, not harder."))
    max_corrupted_rows: float = setting(_D.max_corrupted_rows, minimum=0, maximum=1, check=_finite, doc=(
        "Share of corrupted rows (nulls, wrong types) one data stage may emit."))
    max_ingestion_delay_s: float = setting(_D.max_ingestion_delay_s, minimum=0, maximum=31_536_000, check=_finite, doc=(
        "Seconds one data stage may deliver late: an upstream batch half an hour late."))
    concurrent_failures: int = setting(_D.concurrent_failures, minimum=0, maximum=100, doc=(
        "Independent failures at once (the node faults of one zone count as one). One: two concurrent "
        "independent failures are beyond the design basis."))
    zone_is_one_failure: bool = setting(_D.zone_is_one_failure, doc=(
        "Node faults all within one zone count as one zone failure when the cluster's nodes span several "
        "zones (a zone outage is in the design basis of a multi-zone cluster)."))

    def bounds(self) -> DesignBasisBounds:
        """The frozen bounds the env classifies faults with."""
        return DesignBasisBounds(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
