"""The daemon in live mode on the real control plane, with the ServiceAccount token and RBAC that
deploy/ (cluster-wide) or the Helm chart (confined to the pipelines' namespace) installs: every fault
family applied through the API server and reverted, nothing left behind, no call forbidden, and no
permission granted that no call needed. One daemon run per install (tests/e2e/install_runs.py).
"""

from __future__ import annotations

import pytest

from envs.faults import CATALOG, FaultKind
from tests.e2e.install_runs import KINDS, InstallRun
from tests.e2e.live_agent import AGENT_USER, forbidden_calls
from tests.e2e.rbac import calls, ungranted, unneeded

pytestmark = pytest.mark.timeout(600)  # the first test of an install carries its run (~70 s)

FAMILIES = {CATALOG[k].family for k in KINDS}


def test_every_fault_family_is_applied_and_reverted(install_run: InstallRun) -> None:
    done = {CATALOG[FaultKind(i.kind)].family for i in install_run.injections
            if i.outcome == "applied" and i.reverted is not None}
    assert done == FAMILIES, f"families not applied and reverted: {FAMILIES - done}\n{install_run.logs}"
    assert install_run.exit_code == 0, install_run.logs
    assert install_run.leftovers == [], install_run.logs
    assert "chaos_agent" in install_run.metrics


def test_the_daemon_made_no_forbidden_call(install_run: InstallRun) -> None:
    assert install_run.events, "the audit log recorded no call of the agent's ServiceAccount"
    assert forbidden_calls(install_run.events) == []


def test_every_permission_granted_is_needed_by_a_call(install_run: InstallRun) -> None:
    """Least privilege in both directions, on the RBAC objects the API server holds: each call the
    daemon made is granted (also shown by no 403), and each permission granted was used by a call.
    A permission only a rarer path needs must be exercised here before it may be granted."""
    permissions = install_run.permissions
    made = calls(install_run.events)
    assert permissions and made
    missing = [c.describe() for c in ungranted(permissions, made)]
    assert not missing, "called but not granted:\n" + "\n".join(missing)
    spare = [p.describe() for p in unneeded(permissions, made)]
    assert not spare, f"granted but needed by none of the {len(made)} distinct calls:\n" + "\n".join(spare)


def test_the_daemon_authenticates_as_the_installed_service_account(install_run: InstallRun) -> None:
    assert install_run.username == AGENT_USER
