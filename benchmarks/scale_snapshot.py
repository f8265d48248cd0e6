"""Snapshot and observation of a big cluster (Kubernetes' limits: 5,000 nodes, 150,000 pods) vs parsing.

The Kubernetes backend runs as the daemon runs it, on recorded list responses (``cluster_gen``) served
page by page (``limit``/``continue``) through the official client's ``ApiClient`` with only its
``call_api`` replaced, so ``KubeApi.list`` (retries, JSON, paging) and the ``WatchCache`` fill run
unchanged; watches stay open and idle. Stages, each timed apart, medians over ``--repeat`` runs in one
process, alternating with the parse-only baseline (``json.loads`` of the same pages):

  fill      backend.start(): every list, paged, into the watch cache
  snapshot  backend.snapshot(): ClusterState (the twin's ClusterSpec, WorkloadStatus, NodeStatus)
  profile   envs.profile.profile(spec)
  features  envs.observation.target_features(...)
  mask      agent.safety.SafetyGuard(...).mask(...)

Memory: one run of each path in a fresh child process (so neither inherits the other's freed arenas):
the peak RSS above what the process held with the recorded pages loaded (VmHWM from /proc, reset
through clear_refs), the daemon's equivalent peak (code + that), and the RSS the filled cache keeps.

    python benchmarks/scale_snapshot.py --nodes 5000 --pods 150000
    python benchmarks/scale_snapshot.py --nodes 200 --pods 6000 --repeat 5        # quick
    python benchmarks/scale_snapshot.py --nodes 500 --pods 15000 --cprofile out.prof  # where time goes
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kubernetes.client

from agent.backends.kubernetes.api import KubeApi
from agent.backends.kubernetes.backend import KubernetesBackend
from agent.backends.kubernetes.resources import SNAPSHOT_RESOURCES
from agent.config.safety import SafetySettings
from agent.safety import SafetyGuard
from benchmarks.cluster_gen import ClusterPages, cluster_pages
from envs.observation import History, target_features
from envs.profile import profile

STAGES = ("fill", "snapshot", "profile", "features", "mask")


# ---- the recorded API server -------------------------------------------------------------------


class _IdleStream:
    """A watch connection on which nothing happens until the client closes it."""

    def __init__(self) -> None:
        self._closed = threading.Event()

    def stream(self, _amt: int, decode_content: bool = True) -> Iterator[bytes]:
        self._closed.wait()
        return iter(())

    def shutdown(self) -> None:
        self._closed.set()

    def release_conn(self) -> None:
        self._closed.set()


@dataclass
class _Answer:
    status: int
    data: bytes = b""
    response: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def read(self) -> bytes:
        return self.data


class RecordedApiClient(kubernetes.client.ApiClient):
    """The official client with the wire replaced by recorded pages: lists are paged, watches idle."""

    def __init__(self, pages: ClusterPages) -> None:
        super().__init__(kubernetes.client.Configuration(host="http://127.0.0.1:1"))
        self._by_path = {res.path(): pages.pages.get(res.plural, []) for res in SNAPSHOT_RESOURCES}
        self.page_size = pages.page_size
        self.requests = 0

    def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None,
                 post_params: Any = None, _request_timeout: Any = None) -> Any:
        self.requests += 1
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if method != "GET" or parts.path not in self._by_path:
            return _Answer(404, b'{"kind":"Status","code":404,"reason":"NotFound"}')
        if query.get("watch") == ["true"]:
            return _Answer(200, response=_IdleStream())
        if int(query.get("limit", ["0"])[0]) != self.page_size:
            raise AssertionError(f"the recorded pages hold {self.page_size} items; the client asked {query}")
        token = query.get("continue", [""])[0]
        page = int(token.rsplit(":", 1)[1]) if token else 0
        recorded = self._by_path[parts.path]
        if not recorded:  # a kind the generator does not make: an empty list, as the API server answers
            return _Answer(200, b'{"kind":"List","metadata":{"resourceVersion":"1"},"items":[]}')
        return _Answer(200, recorded[page])


# ---- one run of each path ----------------------------------------------------------------------


def snapshot_bytes(pages: ClusterPages) -> int:
    return sum(len(p) for res in SNAPSHOT_RESOURCES for p in pages.pages.get(res.plural, []))


def parse_only(pages: ClusterPages, *, cyclic_gc: bool = True) -> float:
    """json.loads of every page the snapshot reads: the floor of any JSON-based snapshot. With
    ``cyclic_gc=False`` the collector is paused meanwhile (the floor for a fill that pauses it too)."""
    enabled = gc.isenabled()
    if not cyclic_gc:
        gc.disable()
    try:
        started = time.perf_counter()
        parsed = [json.loads(p) for res in SNAPSHOT_RESOURCES for p in pages.pages.get(res.plural, [])]
        elapsed = time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()
    del parsed
    return elapsed


@dataclass
class AgentRun:
    seconds: dict[str, float]
    retained_mb: float
    targets: int
    notes: int
    allowed: int


def agent_path(pages: ClusterPages, guard: SafetyGuard, mem: MemoryProbe | None = None) -> AgentRun:
    """The daemon's path from an empty cache to the policy's inputs, each stage timed."""
    t: dict[str, float] = {}

    def timed(stage: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        out = fn()
        t[stage] = time.perf_counter() - started
        return out

    backend = KubernetesBackend(KubeApi(RecordedApiClient(pages), page_size=pages.page_size))
    try:
        timed("fill", lambda: backend.start(timeout_s=3600))
        retained = mem.rss_mb() if mem else 0.0
        state = timed("snapshot", backend.snapshot)
        prof = timed("profile", lambda: profile(state.spec))
        feats = timed("features", lambda: target_features(prof, state, {}, History(len(prof.targets)), None))
        mask = timed("mask", lambda: guard.mask(state, prof.targets, ()))
        assert feats.shape[0] == len(prof.targets) == mask.shape[0]
        return AgentRun(t, retained, len(prof.targets), len(state.spec.notes), int(mask.sum()))
    finally:
        backend.close()


# ---- memory ------------------------------------------------------------------------------------


class MemoryProbe:
    """RSS from /proc/self/status; the peak (VmHWM) is reset before each measured stage."""

    @staticmethod
    def _field(name: str) -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"/proc/self/status has no {name}")

    def rss_mb(self) -> float:
        return self._field("VmRSS")

    def reset_peak(self) -> float:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")
        return self.rss_mb()

    def peak_mb(self) -> float:
        return self._field("VmHWM")


# ---- the report --------------------------------------------------------------------------------


def run(pages: ClusterPages, repeat: int) -> dict[str, Any]:
    """Stage times: medians over ``repeat`` runs, parse-only and agent path alternating."""
    guard = _guard()
    parse_s: list[float] = []
    parse_nogc_s: list[float] = []
    runs: list[AgentRun] = []
    for _ in range(repeat):  # alternate, so all see the same machine load
        gc.collect()
        parse_s.append(parse_only(pages))
        gc.collect()
        parse_nogc_s.append(parse_only(pages, cyclic_gc=False))
        gc.collect()
        runs.append(agent_path(pages, guard))
    med = {s: statistics.median(r.seconds[s] for r in runs) for s in STAGES}
    total = statistics.median(sum(r.seconds.values()) for r in runs)
    parse = statistics.median(parse_s)
    last = runs[-1]
    return {
        "objects": pages.counts, "json_mb": round(snapshot_bytes(pages) / 1e6, 1), "repeat": repeat,
        "parse_s": round(parse, 3), "parse_without_cyclic_gc_s": round(statistics.median(parse_nogc_s), 3),
        "ratio_to_parse_without_cyclic_gc": round(total / statistics.median(parse_nogc_s), 2),
        "stages_s": {s: round(v, 3) for s, v in med.items()},
        "end_to_end_s": round(total, 3), "ratio_to_parse": round(total / parse, 2),
        "fill_ratio_to_parse": round(med["fill"] / parse, 2),
        "targets": last.targets, "spec_notes": last.notes, "mask_allowed": last.allowed,
    }


def memory_of(path: str, recorded: Path) -> dict[str, float]:
    """One run of ``path`` ("parse" or "agent") in this fresh process, on pages read from ``recorded``.

    ``imports_mb``: RSS with the code loaded; ``pages_mb``: what holding the recorded answers adds (a
    real daemon reads them off the socket); ``peak_above_pages_mb``: the run's own peak; ``daemon_peak_mb``
    = imports + the run's peak, what the daemon would need; ``cache_mb``: what the filled cache keeps.
    """
    mem = MemoryProbe()
    guard = _guard()
    imports = mem.reset_peak()
    pages = ClusterPages.load(recorded)
    base = mem.reset_peak()
    out = {"imports_mb": imports, "pages_mb": base - imports}
    if path == "parse":
        parse_only(pages)
    else:
        run_ = agent_path(pages, guard, mem)
        out["cache_mb"] = run_.retained_mb - base
    out["peak_above_pages_mb"] = mem.peak_mb() - base
    out["daemon_peak_mb"] = imports + out["peak_above_pages_mb"]
    return {k: round(v) for k, v in out.items()}


def memory_in_subprocesses(recorded: Path) -> dict[str, dict[str, float]]:
    out = {}
    for path in ("parse", "agent"):
        cmd = [sys.executable, __file__, "--memory", path, "--recorded", str(recorded)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        out[path] = json.loads(done.stdout)
    return out


def _guard() -> SafetyGuard:
    return SafetyGuard(SafetySettings(halt_file=Path("/nonexistent/chaos-agent.halt")),
                       agent_namespace="chaos-agent")


def python_heap(pages: ClusterPages, guard: SafetyGuard, top: int) -> list[str]:
    """Where the Python heap goes at the snapshot's peak (tracemalloc slows the run several times)."""
    tracemalloc.start(5)
    agent_path(pages, guard)
    snap = tracemalloc.take_snapshot()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    lines = [f"traced peak {peak / 1e6:.0f} MB; still allocated after the run, by line:"]
    lines += [str(s) for s in snap.statistics("lineno")[:top]]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--recorded", type=Path, default=None, help="pages saved by cluster_gen.py --out")
    ap.add_argument("--cprofile", type=Path, default=None, help="write a cProfile of one agent run here")
    ap.add_argument("--memory", choices=("parse", "agent"), help=argparse.SUPPRESS)  # the child's job
    ap.add_argument("--tracemalloc", type=int, default=0, metavar="TOP", help="print the top Python heap lines")
    args = ap.parse_args()
    if args.memory:
        print(json.dumps(memory_of(args.memory, args.recorded)))
        return
    started = time.perf_counter()
    pages = (ClusterPages.load(args.recorded) if args.recorded
             else cluster_pages(nodes=args.nodes, pods=args.pods, seed=args.seed))
    print(f"# {pages.total_bytes / 1e6:.0f} MB of list responses ready in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    if args.cprofile:
        guard = _guard()
        cProfile.runctx("agent_path(pages, guard)", globals(), {"pages": pages, "guard": guard},
                        str(args.cprofile))
        print(f"# cProfile written to {args.cprofile}", file=sys.stderr)
        return
    if args.tracemalloc:
        guard = _guard()
        print("\n".join(python_heap(pages, guard, args.tracemalloc)))
        return
    report = run(pages, args.repeat)
    with tempfile.TemporaryDirectory(prefix="scale-pages-") as tmp:
        recorded = args.recorded
        if recorded is None:
            recorded = Path(tmp)
            pages.save(recorded)
        del pages
        report["memory_mb"] = memory_in_subprocesses(recorded)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
