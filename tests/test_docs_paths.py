"""The docs, the README and --help point only inside the repository: no build machine's paths, no file a
clone does not have, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs").glob("**/*.json"))]
# "/opt/wheel[s]": the same pattern, written so that this guard does not name the path it guards against.
OUTSIDE = re.compile(r"\.\./shared|BENCHMARK\.md|TEST-INFRA\.md|/work/|/opt/wheel[s]|/root/|"
                     r"/\S*venv/bin/python|CPU wheel|wheel on disk")


def _help_texts() -> str:
    parser = build_parser()
    texts = [parser.format_help()]
    stack = [parser]
    while stack:
        for action in stack.pop()._actions:
            for sub in getattr(action, "choices", None) or {}:
                if isinstance(action.choices, dict):
                    texts.append(action.choices[sub].format_help())
                    stack.append(action.choices[sub])
    return "\n".join(texts)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_name_nothing_outside_the_repository(path: Path) -> None:
    found = [m.group(0) for m in OUTSIDE.finditer(path.read_text())]
    assert not found, f"{path.relative_to(ROOT)} points outside the repository: {found}"


def test_help_names_nothing_outside_the_repository() -> None:
    assert not OUTSIDE.findall(_help_texts())


@pytest.mark.parametrize("path", [p for p in DOCS if p.suffix == ".md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (path.parent / target).exists(), f"{path.relative_to(ROOT)} links to {target}, which does not exist"
