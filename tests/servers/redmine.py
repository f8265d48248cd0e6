"""A real Redmine 5 (Debian ``redmine redmine-sqlite``) for the exporter tests, started per test session.

The database is prepared once per machine (migrations, default data, REST API on, a project, the
admin's API key) in a cache folder under a file lock, then copied per session so every run starts
clean. Preparing takes about a minute the first time; a session start takes about 3 s.
Install: see tests/servers/README.md. Skips when absent unless CI=true (then it fails).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REDMINE_ROOT = Path("/usr/share/redmine")
CACHE_DIR = (
    Path(os.environ.get("CHAOS_AGENT_TEST_CACHE", Path.home() / ".cache" / "chaos-agent-test")) / "redmine"
)
PROJECT = "chaos"
PREPARE_SCRIPT = """
Setting.rest_api_enabled = '1'
admin = User.find_by_login('admin')
admin.update_columns(must_change_passwd: false)
project = Project.find_by_identifier('%(project)s') ||
  Project.new(name: 'Chaos findings', identifier: '%(project)s')
project.trackers = Tracker.all
project.enabled_module_names = ['issue_tracking']
project.is_public = true
project.save!
File.write('%(key_file)s', admin.api_key)
"""


@dataclass(frozen=True)
class RedmineServer:
    url: str
    api_key: str
    project: str


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "RAILS_ENV": "production", "DATABASE_URL": f"sqlite3:{db}", "REDMINE_LANG": "en"}


def _run(args: list[str], db: Path) -> None:
    done = subprocess.run(args, cwd=REDMINE_ROOT, env=_env(db), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")


def _ensure_gemfile_local() -> None:
    """Debian's Redmine needs webrick declared to run ``rails server -u webrick`` on Ruby 3."""
    gemfile = REDMINE_ROOT / "Gemfile.local"
    if not gemfile.exists() or "webrick" not in gemfile.read_text():
        with gemfile.open("a") as f:
            f.write('gem "webrick"\n')


def prepared_database() -> tuple[Path, str]:
    """The prepared sqlite file and the admin's API key, made once per machine."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    db, key_file = CACHE_DIR / "redmine.sqlite3", CACHE_DIR / "api_key.txt"
    with (CACHE_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (db.exists() and key_file.exists()):
            _ensure_gemfile_local()
            work = CACHE_DIR / "redmine.sqlite3.tmp"
            work.unlink(missing_ok=True)
            _run(["bin/rails", "db:migrate"], work)
            _run(["bin/rails", "redmine:load_default_data"], work)
            script = CACHE_DIR / "prepare.rb"
            script.write_text(PREPARE_SCRIPT % {"project": PROJECT, "key_file": key_file})
            _run(["bin/rails", "runner", str(script)], work)
            work.rename(db)
        return db, key_file.read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redmine exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(f"{url}/projects.json", timeout=2) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"redmine did not answer on {url} within {timeout_s} s: {log.read_text()[-2000:]}")


def require_redmine() -> None:
    if not (REDMINE_ROOT / "bin" / "rails").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("redmine is not installed; CI must install it (see tests/servers/README.md)")
        pytest.skip(
            "redmine is not installed: apt-get install -y --no-install-recommends redmine redmine-sqlite"
        )


@contextlib.contextmanager
def running_redmine() -> Iterator[RedmineServer]:
    require_redmine()
    db, api_key = prepared_database()
    with tempfile.TemporaryDirectory(prefix="redmine-") as tmp:
        copy = Path(tmp) / "redmine.sqlite3"
        shutil.copyfile(db, copy)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    "bin/rails",
                    "server",
                    "-u",
                    "webrick",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-P",
                    str(Path(tmp) / "server.pid"),
                ],
                cwd=REDMINE_ROOT,
                env=_env(copy),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(url, proc, log)
            yield RedmineServer(url=url, api_key=api_key, project=PROJECT)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def redmine_server() -> Iterator[RedmineServer]:
    with running_redmine() as server:
        yield server
