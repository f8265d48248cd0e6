"""A scheduled retest session (``kind = "retest"``): the service re-runs what reproduced each weakness and
resolves the one whose fix is now in the manifests, sending its ticket event."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from agent.cli import main
from agent.config import load_config
from agent.daemon import Service
from agent.weaknesses.store import WeaknessStore
from tests.agent.daemon.harness import agent_config, free_port, wait_for
from tests.agent.weaknesses.weak_shop import apply_fix, config, weak_shop


def test_a_retest_session_resolves_a_fixed_weakness_and_sends_the_event(
        tmp_path: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    manifests = weak_shop(tmp_path / "manifests")
    (tmp_path / "gameday").mkdir()
    first = config(tmp_path / "gameday", manifests)  # a game day from the command line finds the weakness
    assert main(["run", "--config", str(first), "--quiet"]) == 0
    findings = load_config(first).findings.path
    with WeaknessStore(findings) as store:
        [record] = store.all()
    capsys.readouterr()
    assert main(["weaknesses", "--config", str(first), "show", record.id, "--patch"]) == 0
    apply_fix(manifests, capsys.readouterr().out)

    path = agent_config(tmp_path / "service", kubeconfig=None, port=free_port(), budget=20,
                        extra=f'[cluster.simulated]\nmanifests = "{manifests}"\nseed = 3\n'
                              f'[exporters.webhook]\nurl = "{httpserver.url_for("/hook")}"\n')
    text = path.read_text().replace('name = "test"', 'name = "test"\nkind = "retest"').replace(
        'path = "findings.sqlite"', f'path = "{findings}"').replace(
        "fault_duration_s = 0.3", "fault_duration_s = 60").replace(
        "sample_every_s = 0.1", "sample_every_s = 15").replace("recovery_s = 0.2", "recovery_s = 60")
    path.write_text(text)
    service = Service(load_config(path))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()

    def status() -> str:
        with WeaknessStore(findings) as store:
            found = store.get(record.id)
            return "" if found is None else found.status

    try:
        wait_for(lambda: status() == "resolved", 90, "the retest session to resolve the fixed weakness")
        wait_for(lambda: any(json.loads(r.data)["event"] == "weakness.resolved" for r, _ in httpserver.log), 30,
                 "the resolved event at the webhook")
    finally:
        service.stop("test")
        thread.join(30)
    assert not thread.is_alive()
