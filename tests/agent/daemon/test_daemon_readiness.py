"""/readyz is computed when it is asked: a halt shows there the moment the halt watch sees it, even while
the main loop is busy elsewhere (a long revert, a back-off), which once made it omit the reason."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from agent.config import load_config
from agent.daemon import Service
from agent.daemon.slots import SlotLoop
from agent.safety import FileKillSwitch
from tests.agent.daemon.harness import agent_config, free_port, http_get, wait_for


def test_readyz_names_the_halt_while_the_loop_is_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    path = agent_config(tmp_path, kubeconfig=None, port=port,
                        extra='[cluster.simulated]\nscenario = "ml-platform"\nseed = 5\n')
    busy, release = threading.Event(), threading.Event()
    tick = SlotLoop.tick

    def held_tick(loop: SlotLoop) -> None:
        if busy.is_set():
            release.wait(30)  # the loop is stuck in something long: it cannot update anything now
        tick(loop)

    monkeypatch.setattr(SlotLoop, "tick", held_tick)
    service = Service(load_config(path))
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 30, "the service to be ready")
        busy.set()
        FileKillSwitch(tmp_path / "halt").halt("INC-7: database failover")
        wait_for(lambda: "INC-7" in http_get(f"http://127.0.0.1:{port}/readyz")[1], 5,
                 "/readyz to name the operator's halt while the loop is busy")
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503
        assert json.loads(body)["problems"] == ["agent is halted: INC-7: database failover"]
    finally:
        release.set()
        service.stop("test")
        thread.join(30)
    assert not thread.is_alive()
