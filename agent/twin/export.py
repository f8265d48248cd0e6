"""``chaos-agent twin build --out DIR``: the twin as reviewable YAML, the input objects with every value the
twin inferred written as the ``chaos-agent.io/`` annotation that states it, each marked with a comment
saying where it came from. Read back, the folder builds the same twin: edit an annotation to correct it.

Objects from files keep their file (``DIR/<same relative path>``); objects of a live cluster go to one file
per namespace (``DIR/<namespace>.yaml``, cluster-scoped ones to ``DIR/cluster.yaml``) without the fields
the server fills in, and without the pods and ReplicaSets their controllers stand for. ``DIR/notes.txt``
holds the builder's notes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from agent.errors import ChaosAgentError
from agent.twin.inputs import TwinInputs
from envs.spec import ClusterSpec, Inference
from envs.twin.objects import CLUSTER_SCOPED

SERVER_FIELDS = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation", "selfLink")
INSTANCE_KINDS = frozenset({"Pod", "ReplicaSet", "ControllerRevision", "Event", "Endpoints", "EndpointSlice",
                            "Lease"})
"""Live objects a controller or the control plane makes, which the twin reads through their owners."""


def _identity(data: Mapping[str, Any]) -> tuple[str, str, str]:
    kind = str(data.get("kind", ""))
    meta = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
    namespace = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or "default")  # type: ignore[union-attr]
    return kind, namespace, str(meta.get("name", ""))  # type: ignore[union-attr]


def _annotate(obj: dict[str, Any], key: str, value: str) -> None:
    """Set ``key`` where the twin reads it: the pod template's annotations when they already hold it (they win
    over the object's own), else the object's metadata."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(spec, dict) and isinstance(spec.get("jobTemplate"), dict):
        template = spec["jobTemplate"].get("spec", {}).get("template")
    if isinstance(template, dict):
        annotations = (template.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and key in annotations:
            annotations[key] = value
            return
    obj.setdefault("metadata", {}).setdefault("annotations", {})[key] = value


KEPT_STATUS = {"Node": ("allocatable", "capacity"), "Job": ("conditions",)}
"""The status the twin reads: a node's size, whether a Job has finished."""


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(dict(data))
    status = obj.pop("status", None)
    kept = {k: status[k] for k in KEPT_STATUS.get(str(obj.get("kind")), ()) if isinstance(status, dict) and k in status}
    if kept:
        obj["status"] = kept
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for name in SERVER_FIELDS:
            meta.pop(name, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
            if not annotations:
                meta.pop("annotations")
    return obj


def _dump(obj: dict[str, Any], inferred: list[Inference]) -> str:
    text = yaml.safe_dump(obj, sort_keys=False, width=10**6, allow_unicode=True)
    lines = text.splitlines()
    out: list[str] = []
    notes = {i.annotation: i.source for i in inferred}
    for line in lines:
        match = re.match(r"^(\s*)(chaos-agent\.io/[a-z0-9-]+):", line)
        if match is not None and match.group(2) in notes:
            out.append(f"{match.group(1)}# inferred: {notes[match.group(2)]}")
        out.append(line)
    return "\n".join(out) + "\n"


def _file_of(item_source: str | None, data: Mapping[str, Any], origin: str) -> str:
    if origin == "manifests" and item_source:
        return item_source.split(":", 1)[0].split("[", 1)[0]  # "dir/app.yaml:12" or "list.json[3]"
    _, namespace, _ = _identity(data)
    return "cluster.yaml" if not namespace else f"{namespace}.yaml"


def write_twin(out: Path, inputs: TwinInputs, spec: ClusterSpec) -> list[Path]:
    """Write the reviewable twin under ``out`` (created if needed); returns the files written."""
    by_object: dict[tuple[str, str, str], list[Inference]] = {}
    for i in spec.inferred:
        by_object.setdefault((i.kind, i.namespace, i.name), []).append(i)
    files: dict[str, list[str]] = {}
    placed: set[tuple[str, str, str]] = set()
    for item in inputs.items:
        data = item.data
        if "__not_an_object__" in data or (inputs.origin == "kubernetes" and data.get("kind") in INSTANCE_KINDS):
            continue
        obj = _clean(data)
        ident = _identity(obj)
        inferred = by_object.get(ident, [])
        for i in inferred:
            _annotate(obj, i.annotation, i.value)
        placed.add(ident)
        files.setdefault(_file_of(item.source, data, inputs.origin), []).append(_dump(obj, inferred))
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        header = (f"# chaos-agent twin build: {spec.name}, from the {inputs.origin}"
                  + (f" and {', '.join(sorted({c.origin for c in inputs.observed}))}" if inputs.observed else "")
                  + ". Annotations marked '# inferred' were not in the input: review and edit them.\n")
        for name, docs in sorted(files.items()):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(header + "---\n".join(docs))
            written.append(path)
        notes = out / "notes.txt"
        notes.write_text("".join(f"{line}\n" for line in spec.notes))
        written.append(notes)
    except OSError as e:
        raise ChaosAgentError(f"--out {out}: cannot write the twin there: {e.strerror or e}") from e
    missing = sorted(f"{k} {ns}/{n}" for (k, ns, n) in by_object if (k, ns, n) not in placed)
    if missing:
        raise ChaosAgentError(f"inferred values for objects not in the input: {', '.join(missing)} (a bug)")
    return written
