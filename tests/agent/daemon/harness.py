"""A live cluster for the daemon's tests: the emulator on 127.0.0.1 with the simulator as its control
plane (advancing in real time on a thread), a kubeconfig that points at it, configs, and the agent as
a real ``chaos-agent run`` subprocess (so signals and kill -9 are real).

``leftovers()`` lists every trace of a fault in the cluster: an object with our labels, a taint or
annotation of ours on a node, a cordon, a node's GPU count differing from the start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.audit.records import RecordKind, parse_line
from envs.spec import (
    ClusterSpec,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    PodTemplate,
    ServiceSpec,
    Workload,
)
from tests.emulator.controllers import SimulatedControlPlane
from tests.emulator.server import KubernetesEmulator

ROOT = Path(__file__).resolve().parents[3]
MANAGED = "app.kubernetes.io/managed-by=chaos-agent"
GPU = "nvidia.com/gpu"


def small_platform() -> ClusterSpec:
    """Three nodes (one with 4 GPUs); a web Deployment behind an entry Service with a PDB, a database
    StatefulSet and a GPU training Job. Pods start in 0.3 s so an experiment heals in under a second."""
    zone = (("topology.kubernetes.io/zone", "z1"),)
    web = (("app", "web"),)
    fast = {"startup_s": 0.3, "termination_grace_s": 0.5}
    return ClusterSpec(
        name="daemon-test",
        nodes=(NodeSpec(name="node-a", labels=zone), NodeSpec(name="node-b", labels=zone),
               NodeSpec(name="gpu-1", gpus=4, labels=zone)),
        workloads=(
            Workload("shop", "web", "Deployment", 3, PodTemplate(labels=web, **fast)),  # type: ignore[arg-type]
            Workload("shop", "db", "StatefulSet", 2, PodTemplate(labels=(("app", "db"),), **fast)),  # type: ignore[arg-type]
            Workload("ml", "train", "Job", 2, PodTemplate(labels=(("app", "train"),), gpus=1, **fast)),  # type: ignore[arg-type]
        ),
        services=(ServiceSpec("shop", "web", LabelSelector(web), entrypoint=True, load_rps=10),),
        pdbs=(PdbSpec("shop", "web", LabelSelector(web), max_unavailable=1),),
    )


class LiveCluster:
    """The emulator plus the simulated control plane, with simulated time following the wall clock."""

    def __init__(self, emulator: KubernetesEmulator, spec: ClusterSpec | None = None) -> None:
        self.em = emulator
        self.plane = SimulatedControlPlane(emulator, spec or small_platform())
        self.plane.advance(30)  # every pod running and ready
        self.gpus = {n["metadata"]["name"]: self._gpu_counts(n) for n in self.em.list("Node")}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="control-plane", daemon=True)

    @staticmethod
    def _gpu_counts(node: dict[str, Any]) -> tuple[str, str]:
        status = node.get("status") or {}
        return (str((status.get("capacity") or {}).get(GPU, "0")), str((status.get("allocatable") or {}).get(GPU, "0")))

    def start(self) -> LiveCluster:
        self._thread.start()
        return self

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                self.plane.advance(now - last)
            last = now

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.plane.close()

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": self.em.url}}],
            "users": [{"name": "agent", "user": {"token": "test-token"}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "agent"}}],
        }))
        return path

    def leftovers(self) -> list[str]:
        """Every trace of a fault still in the cluster (empty: nothing left behind)."""
        found = []
        for kind in ("ConfigMap", "NetworkChaos", "StressChaos"):
            try:
                objs = self.em.list(kind, label_selector=MANAGED)
            except KeyError:
                continue  # the kind is not served (no Chaos Mesh)
            found += [f"{kind} {o['metadata'].get('namespace')}/{o['metadata']['name']}" for o in objs]
        for node in self.em.list("Node"):
            name = node["metadata"]["name"]
            for taint in (node.get("spec") or {}).get("taints") or []:
                if taint["key"].startswith("chaos-agent.io/"):
                    found.append(f"node {name} taint {taint['key']}={taint.get('value')}")
            for key in (node["metadata"].get("annotations") or {}):
                if key.startswith("chaos-agent.io/"):
                    found.append(f"node {name} annotation {key}")
            if (node.get("spec") or {}).get("unschedulable"):
                found.append(f"node {name} cordoned")
            if self._gpu_counts(node) != self.gpus[name]:
                found.append(f"node {name} GPUs {self._gpu_counts(node)} != {self.gpus[name]}")
        return found


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prometheus_section(url: str, *, timeout_s: float) -> str:
    """The daemon's [prometheus] settings for tests: one try per query, anomaly windows short enough to see
    an injected fault within seconds."""
    return (f'[prometheus]\nenabled = true\nurl = "{url}"\ntimeout_s = {timeout_s:g}\nretry_attempts = 1\n'
            "[prometheus.anomaly]\ncurrent_window_s = 10\nbaseline_window_s = 60\nstep_s = 5\n"
            "rate_window_s = 10\n")


def agent_config(folder: Path, *, kubeconfig: Path | None, port: int, extra: str = "",
                 fault_duration_s: float = 0.3, recovery_s: float = 0.2, lease_duration_s: float = 2.0,
                 prometheus_url: str | None = None, strategy: str = "uniform_random", budget: int = 1000) -> Path:
    """A config for a fast daemon on the emulator: game days back to back, short experiments."""
    cluster = (f'backend = "kubernetes"\n[cluster.kubernetes]\nkubeconfig = "{kubeconfig}"\n'
               f"pod_grace_period_s = 0\nrequest_timeout_s = 2\nretry_attempts = 3\n"
               f"lease_duration_s = {lease_duration_s}\n") if kubeconfig else 'backend = "simulated"\n'
    prometheus = prometheus_section(prometheus_url, timeout_s=1) if prometheus_url else ""
    text = f"""[cluster]
{cluster}
[agent]
kill_switch_poll_s = 0.2
revert_timeout_s = 10
retry_max_s = 1

[experiment]
fault_duration_s = {fault_duration_s}
sample_every_s = 0.1
recovery_s = {recovery_s}
settle_s = 0

[policy]
strategy = "{strategy}"

[safety]
max_concurrent_faults = 2
error_budget = 100000
# a node failure lasts its magnitude (60, 300 or 600 s down), not fault_duration_s: too long for these tests
exclude_faults = ["node_failure"]
halt_file = "halt"

[schedule]
mode = "game_days"

[[schedule.game_days]]
name = "test"
cron = "* * * * *"
budget = {budget}
duration_s = 3600

[service]
listen_host = "127.0.0.1"
listen_port = {port}
log_level = "info"

[audit]
path = "audit.jsonl"

[findings]
path = "findings.sqlite"

{prometheus}
{extra}
"""
    path = folder / "config.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@dataclass
class AgentProcess:
    """``chaos-agent run --config`` as a subprocess with its logs in ``folder/agent-N.log``."""

    config: Path
    name: str = "agent"
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    lives: int = 0

    @property
    def folder(self) -> Path:
        return self.config.parent

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}-{self.lives}.log"

    def start(self) -> AgentProcess:
        self.lives += 1
        env = {**os.environ, "PYTHONPATH": str(ROOT), "POD_NAME": self.name, "POD_NAMESPACE": "chaos-agent",
               **self.env}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "run", "--config", str(self.config)],
                cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout_s: float = 30) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds to exit)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout_s)
        return code, time.monotonic() - started

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.folder.glob(f"{self.name}-*.log")))


@pytest.fixture
def agents() -> Iterator[Callable[..., AgentProcess]]:
    """Start agents as a test needs them (``agents(config, name, **env)``); every one is stopped after it."""
    started: list[AgentProcess] = []

    def make(config: Path, name: str = "agent", **env: str) -> AgentProcess:
        agent = AgentProcess(config, name=name, env=dict(env))
        started.append(agent)
        return agent

    yield make
    for agent in started:
        agent.stop()


def journal_records(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [r for r in (parse_line(line) for line in path.read_bytes().split(b"\n")[:-1]) if r is not None]


def intents(path: Path) -> list[Any]:
    return [r for r in journal_records(path) if r.kind is RecordKind.INTENT and r.status != "dry_run"]


def active_fault(path: Path) -> str | None:
    """The id of an applied fault with no revert yet, per the journal (what SIGTERM must revert)."""
    applied: dict[str, None] = {}
    for r in journal_records(path):
        if r.kind is RecordKind.OUTCOME and r.status == "applied":
            applied[r.injection_id] = None
        elif r.kind is RecordKind.REVERT and r.status == "reverted":
            applied.pop(r.injection_id, None)
    return next(iter(applied), None)


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        return 0, str(e)
