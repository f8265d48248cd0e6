"""The agent's StatefulSet as installed by deploy/ and by the Helm chart runs on a real control plane:
its pods pass the restricted Pod Security Standard the namespace enforces, and each replica's claim for
its journal binds to a volume of the cluster's default StorageClass and stays when the pods go. The
pods run once, in each install's run (tests/e2e/install_runs.py), without their HTTP probes.
"""

from __future__ import annotations

import pytest

from tests.e2e.install_runs import InstallRun
from tests.servers.kubernetes import STORAGE_CLASS

pytestmark = pytest.mark.timeout(600)  # the first test of an install carries its run (~70 s)


def test_the_namespace_enforces_the_restricted_pod_security_standard(install_run: InstallRun) -> None:
    labels = install_run.statefulset.namespace_labels
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels


def test_the_statefulset_runs_and_binds_each_replicas_claim(install_run: InstallRun) -> None:
    run = install_run.statefulset
    assert run.failure == ""
    assert run.pods == ["chaos-agent-0", "chaos-agent-1"]
    assert sorted(run.claims) == ["state-chaos-agent-0", "state-chaos-agent-1"]
    for claim in run.claims.values():
        assert claim["spec"]["storageClassName"] == STORAGE_CLASS  # the default class, given at admission
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert len({c["spec"]["volumeName"] for c in run.claims.values()}) == 2


def test_each_replicas_claim_outlives_its_pod(install_run: InstallRun) -> None:
    """``persistentVolumeClaimRetentionPolicy.whenScaled: Retain``: the journal stays for the next pod."""
    run = install_run.statefulset
    assert run.claims, run.failure
    assert run.kept == {n: c["spec"]["volumeName"] for n, c in run.claims.items()}
