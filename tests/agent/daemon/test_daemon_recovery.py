"""Recovery: what failed is logged once per cause (a journal that cannot be written is not a failed
revert), a cluster failure is retried, and the sweep runs again whenever the backend left orphans."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from agent.audit import AuditJournal, RecordKind, open_intents
from agent.config import load_config
from agent.daemon import Service
from agent.daemon.failures import FailureLog
from agent.daemon.hands import InterruptibleBackend
from agent.daemon.readiness import Blockers
from agent.daemon.recovery import Recovery
from agent.errors import BackendError
from agent.service.http import AgentMetrics
from envs.cluster import Injection
from envs.faults import Fault, FaultKind
from tests.agent.daemon.harness import agent_config, free_port, http_get, intents, journal_records, wait_for


class Cluster:
    """The backend's side of a recovery: reverts (refused while ``refusals`` last) and the sweep."""

    def __init__(self, refusals: int = 0) -> None:
        self.reverted: list[str] = []
        self.refusals = refusals
        self.orphans_left = False
        self.sweeps = 0

    def revert(self, injection: Injection) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise BackendError(f"could not revert {injection.id}: the API server answered 503")
        self.reverted.append(injection.id)

    def revert_orphans(self, open_injection_ids: Iterable[str]) -> list[str]:
        self.sweeps += 1
        self.orphans_left = False
        return []


def _open_faults(path: Path, count: int) -> AuditJournal:
    journal = AuditJournal.open(path, config_hash="c", policy_hash="p")
    for i in range(count):
        fault = Fault(FaultKind.POD_KILL, 1, f"shop/Deployment/web-{i}")
        journal.record_intent(f"inj-{i}", fault)
        journal.record_outcome(Injection(f"inj-{i}", fault, "applied"))
    return journal


def _recovery(journal: AuditJournal, cluster: Cluster, *, leading: bool = True) -> Recovery:
    hands = InterruptibleBackend(cluster, threading.Event(), metrics=AgentMetrics())  # type: ignore[arg-type]
    return Recovery(journal=journal, hands=hands, sweeper=cluster, blockers=Blockers(), stopping=threading.Event(),
                    leading=lambda: leading, retry_max_s=1.0, failures=FailureLog())


def _fill_the_disk(journal: AuditJournal) -> None:
    """Every later write to the journal fails as on a full disk (ENOSPC), from the kernel itself."""
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, journal._fd)  # type: ignore[arg-type]
    os.close(full)


def test_a_journal_that_cannot_be_written_is_logged_once_and_the_revert_is_not_repeated(tmp_path: Path) -> None:
    journal = _open_faults(tmp_path / "audit.jsonl", 3)
    cluster = Cluster()
    recovery = _recovery(journal, cluster)
    _fill_the_disk(journal)
    with capture_logs() as logs:
        recovery.revert_open(time.monotonic() + 10)
        recovery.revert_open(time.monotonic() + 10)  # a later failed slot asks again
    events = [e["event"] for e in logs]
    assert cluster.reverted == ["inj-0", "inj-1", "inj-2"], "a revert that succeeded was repeated"
    assert "revert_failed" not in events and "revert_timeout" not in events, events
    [failure] = [e for e in logs if e["event"] == "journal_write_failed"]
    assert "No space left on device" in failure["error"]
    assert recovery.unrecorded == {"inj-0", "inj-1", "inj-2"}
    journal.close()


def test_a_cluster_that_refuses_is_retried_and_logged_once(tmp_path: Path) -> None:
    journal = _open_faults(tmp_path / "audit.jsonl", 1)
    cluster = Cluster(refusals=3)
    with capture_logs() as logs:
        _recovery(journal, cluster).revert_open(time.monotonic() + 30)
    failed = [e for e in logs if e["event"] == "revert_failed"]
    assert len(failed) == 1 and "503" in failed[0]["error"], logs
    assert cluster.reverted == ["inj-0"] and open_intents(journal.path) == []
    assert [r.injection_id for r in journal_records(journal.path)
            if r.kind is RecordKind.REVERT and r.status == "reverted"] == ["inj-0"]
    journal.close()


def test_a_cluster_failure_after_a_recovery_is_news_again(tmp_path: Path) -> None:
    journal = _open_faults(tmp_path / "audit.jsonl", 1)
    cluster = Cluster(refusals=1)
    recovery = _recovery(journal, cluster)
    with capture_logs() as logs:
        recovery.revert_open(time.monotonic() + 30)
        fault = Fault(FaultKind.POD_KILL, 1, "shop/Deployment/web-0")
        journal.record_intent("inj-9", fault)
        journal.record_outcome(Injection("inj-9", fault, "applied"))
        cluster.refusals = 1
        recovery.revert_open(time.monotonic() + 30)
    assert [e["event"] for e in logs].count("revert_failed") == 2
    journal.close()


@pytest.mark.parametrize("leading", [True, False])
def test_the_sweep_runs_again_whenever_the_backend_left_orphans(tmp_path: Path, leading: bool) -> None:
    journal = _open_faults(tmp_path / "audit.jsonl", 0)
    cluster = Cluster()
    recovery = _recovery(journal, cluster, leading=leading)
    recovery.sweep_orphans()
    recovery.sweep_orphans()
    assert cluster.sweeps == 1  # the start-up sweep, once
    cluster.orphans_left = True  # a half-applied fault the backend could not revert
    recovery.sweep_orphans()
    assert cluster.sweeps == 2 and not cluster.orphans_left
    recovery.sweep_orphans()
    assert cluster.sweeps == 2
    cluster.orphans_left = True
    recovery.revert_open(time.monotonic() + 10)  # after a failed slot and on stop, as leader only
    assert cluster.sweeps == (3 if leading else 2)
    recovery.sweep_again()  # a new term as leader
    recovery.sweep_orphans()
    assert cluster.sweeps == (4 if leading else 3)
    journal.close()


def _fill_the_disk_under(path: Path) -> None:
    """The service's journal, found among this process's open files, fails every write from now on."""
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}") == str(path.resolve()):
                full = os.open("/dev/full", os.O_WRONLY)
                os.dup2(full, int(fd))
                os.close(full)
                return
    raise AssertionError(f"{path} is not open")


def test_the_service_on_a_full_disk_says_so_once_and_stops_injecting(tmp_path: Path) -> None:
    port = free_port()
    path = agent_config(tmp_path, kubeconfig=None, port=port,
                        extra='[cluster.simulated]\nscenario = "ml-platform"\nseed = 5\n')
    journal = tmp_path / "audit.jsonl"
    service = Service(load_config(path))
    thread = threading.Thread(target=service.run, daemon=True)
    with capture_logs() as logs:
        thread.start()
        try:
            wait_for(lambda: len(intents(journal)) >= 3, 60, "a few injections")
            _fill_the_disk_under(journal)
            wait_for(lambda: "journal" in http_get(f"http://127.0.0.1:{port}/readyz")[1], 30,
                     "/readyz to say the journal cannot be written")
            time.sleep(1.0)  # a few turns of the loop, blocked: nothing new is said
        finally:
            service.stop("test")
            thread.join(30)
    events = [e["event"] for e in logs]
    assert not thread.is_alive()
    assert "revert_failed" not in events and "revert_timeout" not in events, events
    assert events.count("journal_write_failed") == 1, [e for e in logs if "journal" in e["event"]]
    assert "service_stopped" in events
