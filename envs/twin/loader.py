"""``load_manifests``: Kubernetes YAML or JSON files (one file or a folder) into a ``ClusterSpec``.

The only I/O of the twin: it reads the files it is given and nothing else. Multi-document YAML,
``kind: List`` (as ``kubectl get -o yaml`` prints) and JSON are read; a file that is not valid YAML or
JSON raises ``ManifestError`` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import yaml

from envs.spec import ClusterSpec
from envs.twin.builder import build_spec
from envs.twin.errors import MAX_MANIFEST_BYTES, ManifestError, TooLarge
from envs.twin.objects import SourcedObject
from envs.twin.telemetry import ObservedCall

SUFFIXES = (".yaml", ".yml", ".json")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def manifest_files(path: Path) -> list[Path]:
    """``path`` itself, or every *.yaml, *.yml and *.json under it (hidden folders left out), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ManifestError(f"{path}: no such file or folder of Kubernetes manifests")
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise ManifestError(f"{path}: no *.yaml, *.yml or *.json files in this folder")
    return files


def _hint(text: str) -> str:
    return " (it looks like a Helm template: render it with `helm template` first)" if "{{" in text else ""


def _documents(file: Path, shown: str) -> Iterator[SourcedObject]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{shown}: cannot be read: {e}") from e
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ManifestError(f"{shown}:{e.lineno}: not valid JSON: {e.msg}") from e
        for i, item in enumerate(data if isinstance(data, list) else [data]):
            yield _sourced(item, f"{shown}" + (f"[{i}]" if isinstance(data, list) else ""))
        return
    loader = _Loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
                line = node.start_mark.line + 1 if node is not None else 0
                data = loader.construct_document(node)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
                where = f":{mark.line + 1}" if mark is not None else ""
                problem = getattr(e, "problem", None) or str(e)
                raise ManifestError(f"{shown}{where}: not valid YAML: {problem}{_hint(text)}") from e
            if data is not None:
                yield _sourced(data, f"{shown}:{line}")
    finally:
        loader.dispose()


def _sourced(data: object, source: str) -> SourcedObject:
    if isinstance(data, Mapping):
        return SourcedObject(data, source)
    return SourcedObject({"__not_an_object__": data}, source)


def _check_size(path: Path, files: list[Path]) -> None:
    """Refuse input too large to parse before reading a byte of it."""
    try:
        sizes = [(f.stat().st_size, f) for f in files]
    except OSError as e:
        raise ManifestError(f"{path}: cannot be read: {e}") from e
    total = sum(size for size, _ in sizes)
    if total > MAX_MANIFEST_BYTES:
        biggest = max(sizes)[1]
        raise TooLarge(
            f"{path}: {total / 2**20:.1f} MiB of manifests (largest: {biggest.name}), above the twin's limit of "
            f"{MAX_MANIFEST_BYTES / 2**20:.0f} MiB: give it the application's own manifests (Deployments, "
            "StatefulSets, Services, ...), not a dump of pods and events")


def read_manifests(path: Path) -> tuple[list[SourcedObject], str]:
    """Every document in ``path`` (a file, or a folder read recursively in sorted order) with its ``file:line``,
    and the name of the twin: the file's stem or the folder's name."""
    path = Path(path)
    files = manifest_files(path)
    _check_size(path, files)
    base = path if path.is_dir() else path.parent
    items: list[SourcedObject] = []
    for file in files:
        shown = str(file.relative_to(base)) if path.is_dir() else file.name
        items.extend(_documents(file, shown))
    return items, path.stem if path.is_file() else path.resolve().name


def load_manifests(path: Path, *, observed: Iterable[ObservedCall] = ()) -> ClusterSpec:
    """The twin of the manifests in ``path``, with the calls ``observed`` in telemetry."""
    items, name = read_manifests(path)
    return build_spec(items, name=name, observed=observed)
