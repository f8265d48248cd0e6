"""A real Prometheus (the Debian package) for tests: backfill history with promtool, start, stop, kill.

Use the ``prometheus_factory`` fixture: ``prometheus_factory(history=..., scrape_targets=...)`` writes
the history as OpenMetrics text, turns it into TSDB blocks with ``promtool tsdb create-blocks-from
openmetrics``, and starts ``prometheus`` on a free 127.0.0.1 port. Every server is killed at teardown.
Without the binaries the tests skip, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"


def require_binary(name: str) -> str:
    """The binary's path; a skip (or, in CI, a failure) with the install command when it is absent."""
    path = shutil.which(name)
    if path is None:
        reason = (f"{name} is not installed: apt-get install -y --no-install-recommends "
                  "prometheus prometheus-alertmanager")
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the test servers are required)")
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Sample:
    """One backfilled point: a metric with labels, a value, and a Unix time in seconds."""

    metric: str
    labels: Mapping[str, str]
    value: float
    time_s: float


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def openmetrics_text(samples: Sequence[Sample]) -> str:
    """OpenMetrics exposition of the samples: one family per metric, points in time order, ``# EOF``."""
    families: dict[str, list[Sample]] = {}
    for s in samples:
        families.setdefault(s.metric, []).append(s)
    lines: list[str] = []
    for metric, points in families.items():
        lines.append(f"# TYPE {metric} gauge")
        for s in sorted(points, key=lambda p: p.time_s):
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            lines.append(f"{metric}{{{labels}}} {_format_value(s.value)} {s.time_s:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(samples: Sequence[Sample], data_dir: Path, work_dir: Path) -> None:
    """Write the samples into TSDB blocks under ``data_dir`` with promtool."""
    promtool = require_binary(PROMTOOL)
    source = work_dir / "history.om"
    source.write_text(openmetrics_text(samples))
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"promtool backfill failed ({done.returncode}): {done.stderr[-2000:]}")


@dataclass
class PrometheusServer:
    """A running Prometheus process on 127.0.0.1."""

    port: int
    data_dir: Path
    config_file: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet: poll again
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"prometheus not ready within {timeout_s} s: {self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """A graceful stop (SIGTERM), as an operator's restart would do."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-flight, as after an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""


def scrape_config(targets: Sequence[str], scrape_interval_s: float) -> str:
    """A prometheus.yml scraping ``targets`` (host:port) at the interval; none gives an empty config."""
    interval = f"{int(scrape_interval_s * 1000)}ms"
    lines = ["global:", f"  scrape_interval: {interval}", f"  evaluation_interval: {interval}"]
    if targets:
        lines += [
            "scrape_configs:",
            "  - job_name: cluster",
            f"    scrape_interval: {interval}",
            f"    scrape_timeout: {interval}",
            "    static_configs:",
            "      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]",
        ]
    return "\n".join(lines) + "\n"


PrometheusFactory = Callable[..., PrometheusServer]


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[PrometheusFactory]:
    """Start real Prometheus servers: ``factory(history=[Sample...], scrape_targets=["127.0.0.1:p"])``."""
    binary = require_binary(PROMETHEUS)
    servers: list[PrometheusServer] = []

    def start(*, history: Sequence[Sample] = (), scrape_targets: Sequence[str] = (),
              scrape_interval_s: float = 1.0) -> PrometheusServer:
        root = tmp_path / f"prometheus-{len(servers)}"
        data_dir = root / "data"
        data_dir.mkdir(parents=True)
        if history:
            backfill(history, data_dir, root)
        config_file = root / "prometheus.yml"
        config_file.write_text(scrape_config(scrape_targets, scrape_interval_s))
        port = free_port()
        server = PrometheusServer(
            port=port, data_dir=data_dir, config_file=config_file, log_file=root / "prometheus.log",
            args=[binary, f"--config.file={config_file}", f"--storage.tsdb.path={data_dir}",
                  f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d",
                  "--log.level=warn"],
        )
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill()
