"""Kubernetes default timings the simulator runs on, as one frozen dataclass.

Every field is in seconds unless its name says otherwise; the defaults are the upstream defaults so a
simulated outage lasts as long as it would on a stock cluster.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    node_monitor_grace_s: float = 40.0
    """kube-controller-manager --node-monitor-grace-period: a silent node turns NotReady after this."""
    toleration_s: float = 300.0
    """DefaultTolerationSeconds for not-ready/unreachable NoExecute taints: eviction delay after NotReady."""
    controller_s: float = 1.0
    """ReplicaSet / StatefulSet / Job controller reaction to a lost pod."""
    scheduling_s: float = 1.0
    """From a pod's creation (or a capacity change) to its binding."""
    backoff_initial_s: float = 10.0
    """kubelet container restart back-off, doubling per crash in a row."""
    backoff_max_s: float = 300.0
    backoff_reset_s: float = 600.0
    """A container that runs this long without crashing gets its back-off reset."""
    job_backoff_limit: int = 6
    """Job spec.backoffLimit default: failures after which the Job is marked Failed."""
    hpa_period_s: float = 15.0
    """--horizontal-pod-autoscaler-sync-period."""
    hpa_downscale_stabilisation_s: float = 300.0
    hpa_tolerance: float = 0.1
    """HPA does nothing while |utilisation / target - 1| is within this."""
    drain_retry_s: float = 5.0
    """kubectl drain retries an eviction the PDB refused this often."""
