"""A real Alertmanager (Debian ``prometheus-alertmanager``) and a loopback webhook receiver, per session.

Alertmanager groups alerts by signature and notifies the receiver at once (group_wait 0s), so a test
can see both the API's view (GET /api/v2/alerts) and the notification a person would get.
Install: see tests/servers/README.md. Skips when absent unless CI=true (then it fails).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers.redmine import free_port

BINARY = "prometheus-alertmanager"
CONFIG = """
route:
  receiver: test-hook
  group_by: [alertname, signature, severity]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test-hook
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/hook
        send_resolved: true
"""


@dataclass
class Notifications:
    """What the webhook receiver got, in arrival order."""

    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                for n in self.received:
                    if predicate(n):
                        return n
            time.sleep(0.05)
        raise AssertionError(f"no matching notification within {timeout_s} s; got {self.received!r}")


@dataclass(frozen=True)
class AlertmanagerServer:
    url: str
    notifications: Notifications

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        query = "&".join(
            f"filter={urllib.request.quote(f'{k}={chr(34)}{v}{chr(34)}')}" for k, v in labels.items()
        )
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts?{query}", timeout=5) as r:
            return list(json.loads(r.read()))


def _receiver(notes: Notifications) -> ThreadingHTTPServer:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with notes.lock:
                notes.received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def require_alertmanager() -> str:
    path = shutil.which(BINARY)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{BINARY} is not installed; CI must install it (see tests/servers/README.md)")
        pytest.skip(f"{BINARY} is not installed: apt-get install -y --no-install-recommends {BINARY}")
    return path


@contextlib.contextmanager
def running_alertmanager() -> Iterator[AlertmanagerServer]:
    binary = require_alertmanager()
    notes = Notifications()
    hook = _receiver(notes)
    with tempfile.TemporaryDirectory(prefix="alertmanager-") as tmp:
        config = Path(tmp) / "alertmanager.yml"
        config.write_text(CONFIG.format(hook_port=hook.server_address[1]))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={tmp}/data",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"alertmanager exited: {log.read_text()[-2000:]}")
                with (
                    contextlib.suppress(urllib.error.URLError, ConnectionError),
                    urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r,
                ):
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"alertmanager not ready: {log.read_text()[-2000:]}")
                time.sleep(0.05)
            yield AlertmanagerServer(url=url, notifications=notes)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            hook.shutdown()


@pytest.fixture(scope="session")
def alertmanager_server() -> Iterator[AlertmanagerServer]:
    with running_alertmanager() as server:
        yield server
