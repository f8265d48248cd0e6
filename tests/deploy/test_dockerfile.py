"""The runtime image recipe, linted statically (no Docker engine runs here to build it).

It must stay multi-stage on a pinned python:3.11-slim base, install only the runtime dependencies
(no torch), run as uid 65532, write only to the state volume, and start the daemon on the config the
Deployment mounts.
"""

from __future__ import annotations

import fnmatch
import glob
import re
import tomllib
from pathlib import Path

import pytest
from deploy_manifests import DEPLOY, REPO
from dockerfile_syntax import Stage, copy_sources, ignore_patterns, ignored, instructions, stages

DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
TRAINING_ONLY = ("torch", "stable-baselines3", "stable_baselines3", "sb3-contrib", "sb3_contrib",
                 "tensorboard")
ENTRYPOINT = ["chaos-agent", "run", "--config", "/etc/chaos-agent/config.toml"]
STATE_DIR = "/var/lib/chaos-agent"
# image[:tag][@sha256:digest]: a tag that is not "latest", or a digest.
PINNED = re.compile(r"^[\w./-]+(:(?!latest$)[\w.-]+)?(@sha256:[0-9a-f]{64})?$")


@pytest.fixture(scope="module")
def build() -> tuple[dict[str, str], list[Stage]]:
    return stages(DOCKERFILE.read_text())


def test_every_stage_starts_from_a_pinned_python_3_11_slim(build: tuple[dict[str, str], list[Stage]]) -> None:
    _, found = build
    assert len(found) >= 2, "a multi-stage build keeps the compilers and pip caches out of the image"
    for stage in found:
        assert PINNED.match(stage.image), f"FROM {stage.image} is not a valid image reference"
        assert ":" in stage.image.split("/")[-1] or "@sha256:" in stage.image, (
            f"FROM {stage.image} is pinned by neither tag nor digest")
        assert stage.image.startswith("python:3.11") and "-slim" in stage.image, stage.image


def test_runtime_stage_runs_as_uid_65532_with_one_volume(build: tuple[dict[str, str], list[Stage]]) -> None:
    runtime = build[1][-1]
    users = runtime.all("USER")
    assert users, "the runtime stage sets no USER: it would run as root"
    uid = users[-1].arguments.split(":")[0]
    assert uid == "65532", f"USER {users[-1].arguments}: use the numeric uid 65532 (runAsNonRoot checks it)"
    assert runtime.instructions.index(users[-1]) > max(
        runtime.instructions.index(i) for i in runtime.all("RUN")), "nothing runs as root after USER"
    volumes = [v for i in runtime.all("VOLUME") for v in (i.exec_form() or i.arguments.split())]
    assert volumes == [STATE_DIR]
    env = " ".join(i.arguments for i in runtime.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env, "a read-only root filesystem cannot take .pyc files"
    assert f"HOME={STATE_DIR}" in env and f"TMPDIR={STATE_DIR}" in env, "HOME and TMPDIR must be writable"


def test_entrypoint_is_the_daemon_on_the_mounted_config(build: tuple[dict[str, str], list[Stage]]) -> None:
    runtime = build[1][-1]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ENTRYPOINT, "exec form, so the agent is PID 1 and receives SIGTERM"
    assert not runtime.all("CMD")


def test_no_healthcheck_kubernetes_probes_do_it() -> None:
    assert not [i for i in instructions(DOCKERFILE.read_text()) if i.keyword == "HEALTHCHECK"]


def test_installs_the_package_without_extras_and_without_torch(
        build: tuple[dict[str, str], list[Stage]]) -> None:
    runs = [i.arguments for stage in build[1] for i in stage.all("RUN")]
    installs = [r for r in runs if "pip install" in r]
    assert installs, "the package is never installed"
    for run in installs:
        targets = [t.strip() for t in re.findall(r"pip install\s+([^&|;]+)", run)]
        assert targets == ["."], f"install only the package itself (no extras, no extra packages): {run}"
    for stage in build[1]:
        for i in stage.instructions:
            if i.keyword not in ("RUN", "ENV", "ARG"):
                continue
            for command in re.split(r"&&|\|\||;", i.arguments):
                if re.match(r"\s*!\s*\S*pip show ", command):
                    continue  # the guard below names them to refuse them
                words = set(re.findall(r"[\w.-]+", command))
                assert not words & set(TRAINING_ONLY), f"line {i.line} installs training packages: {command}"
    # The guard in the build itself: `! pip show torch ...` fails the build if a dependency pulled torch.
    assert any("! /opt/chaos-agent/bin/pip show torch" in r for r in runs)


def test_runtime_dependencies_do_not_include_training() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    training = names & set(TRAINING_ONLY)
    assert not training, f"the image installs [project.dependencies], now with {sorted(training)}"


def test_copied_sources_exist_and_pass_the_dockerignore(build: tuple[dict[str, str], list[Stage]]) -> None:
    patterns = ignore_patterns(DOCKERIGNORE)
    for stage in build[1]:
        for i in stage.all("COPY") + stage.all("ADD"):
            sources = copy_sources(i)
            if not sources:
                continue  # COPY --from=another stage
            matched = [Path(p).relative_to(REPO).as_posix()
                       for source in sources for p in glob.glob(str(REPO / source))]
            # Docker accepts a pattern that matches nothing only beside a source that matches.
            assert matched, f"line {i.line}: COPY {' '.join(sources)} matches nothing in the context"
            for path in matched:
                assert not ignored(path, patterns), f"line {i.line}: {path} is excluded by the dockerignore"
    for package in ("agent", "envs", "policies"):
        for source in (REPO / package).rglob("*.py"):
            relative = source.relative_to(REPO).as_posix()
            assert not ignored(relative, patterns), f"{relative} would be missing from the image"


def test_dockerignore_keeps_local_state_and_tests_out() -> None:
    patterns = ignore_patterns(DOCKERIGNORE)
    for path in (".git/HEAD", "var/audit.jsonl", "runs/ppo/model.zip", "tests/deploy/test_rbac.py",
                 ".venv/bin/python", "agent/__pycache__/cli.cpython-311.pyc", "config.toml"):
        assert ignored(path, patterns), f"{path} would be sent to the builder"


def test_pyproject_readme_is_copied_when_named() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    readme = project.get("readme")
    copied = [s for i in instructions(DOCKERFILE.read_text()) if i.keyword == "COPY" for s in copy_sources(i)]
    if isinstance(readme, str):
        assert any(fnmatch.fnmatchcase(readme, s) for s in copied), f"pyproject names {readme}; COPY it"
