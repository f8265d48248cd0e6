"""Manifest patches, and applying them to a ``ClusterSpec`` through the twin's own builder.

A ``ManifestPatch`` is what a user applies (``kubectl patch --type strategic`` or a kustomize patch):
a partial object merged into an existing one, or a new object. ``patched_spec`` renders the spec as
objects (``manifests.objects_of``), applies the patches, reads both the plain and the patched objects
with ``envs.twin.spec_from_objects``, and carries into the original spec exactly the fields the patch
changed; everything else stays as it was, so what the twin re-runs differs from the cluster only by
the fix.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from envs.spec import ClusterSpec, PodTemplate, ServiceSpec, Workload
from envs.twin import spec_from_objects
from envs.weaknesses.manifests import Obj, object_key, objects_of

KEYED_LISTS = {"containers": "name", "initContainers": "name", "volumes": "name", "volumeMounts": "mountPath",
               "env": "name", "ports": "containerPort"}
"""Lists a strategic merge patch merges element by element (by their ``patchMergeKey`` in the Kubernetes API)
instead of replacing; an element with ``$patch: delete`` removes the one with its key."""


class PatchError(ValueError):
    """A patch names an object that is not there."""


@dataclass(frozen=True)
class ManifestPatch:
    """A change to one Kubernetes object."""

    key: str
    """``ns/Kind/name`` of the object (``Kind/name`` when cluster scoped)."""
    body: Obj
    """The patch with ``apiVersion``, ``kind`` and ``metadata``; a whole object when ``new``."""
    new: bool = False
    comment: str = ""
    """What the patch does and anything a YAML field cannot say, shown above it."""


def merge(base: Any, patch: Any) -> Any:
    """``patch`` merged into ``base``: maps merge key by key (``None`` deletes), keyed lists merge by element."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in KEYED_LISTS and isinstance(v, list) and isinstance(out.get(k), list):
                out[k] = _merge_list(out[k], v, KEYED_LISTS[k])
            else:
                out[k] = merge(out.get(k), v)
        return out
    return copy.deepcopy(patch)


def _merge_list(base: list[Any], patch: list[Any], key: str) -> list[Any]:
    out: list[Any] = list(base)
    for item in patch:
        found = next((i for i, have in enumerate(out) if isinstance(have, Mapping) and isinstance(item, Mapping)
                      and have.get(key) == item.get(key)), None)
        if isinstance(item, Mapping) and item.get("$patch") == "delete":
            if found is not None:
                del out[found]
        elif found is None:
            out.append(copy.deepcopy(item))
        else:
            out[found] = merge(out[found], item)
    return out


def apply_patches(objects: Iterable[Obj], patches: Sequence[ManifestPatch]) -> list[Obj]:
    """The objects with every patch applied, in order; a patch of a missing object raises ``PatchError``."""
    by_key = {object_key(o): o for o in objects}
    for p in patches:
        if p.new:
            by_key[p.key] = copy.deepcopy(p.body)
        elif p.key in by_key:
            by_key[p.key] = merge(by_key[p.key], p.body)
        else:
            raise PatchError(f"the patch names {p.key}, which is not among the objects")
    return list(by_key.values())


def patched_spec(spec: ClusterSpec, patches: Sequence[ManifestPatch]) -> ClusterSpec:
    """``spec`` with the patches applied, as the twin reads them."""
    objects = objects_of(spec)
    plain = spec_from_objects(objects, name=spec.name)
    patched = spec_from_objects(apply_patches(objects, patches), name=spec.name)
    return carry(spec, plain, patched)


T = TypeVar("T")


def _changed(original: T, plain: T, patched: T) -> T:
    """``original`` with the fields where ``patched`` differs from ``plain`` taken from ``patched``."""
    if plain == patched:
        return original
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(original):  # type: ignore[arg-type]
        a, b = getattr(plain, f.name), getattr(patched, f.name)
        if a == b:
            continue
        if isinstance(a, PodTemplate):
            changes[f.name] = _changed(getattr(original, f.name), a, b)
        else:
            changes[f.name] = b
    return dataclasses.replace(original, **changes)  # type: ignore[type-var]


def carry(spec: ClusterSpec, plain: ClusterSpec, patched: ClusterSpec) -> ClusterSpec:
    """Carry what differs between ``plain`` and ``patched`` (the same objects read without and with the
    patches) into ``spec``: changed workloads and Services field by field, PDBs and HPAs added or removed."""
    plain_w: dict[str, Workload] = {w.key: w for w in plain.workloads}
    patched_w: dict[str, Workload] = {w.key: w for w in patched.workloads}
    workloads = tuple(_changed(w, plain_w[w.key], patched_w[w.key]) if w.key in plain_w and w.key in patched_w
                      else w for w in spec.workloads)
    plain_s: dict[str, ServiceSpec] = {s.key: s for s in plain.services}
    patched_s: dict[str, ServiceSpec] = {s.key: s for s in patched.services}
    services = tuple(_changed(s, plain_s[s.key], patched_s[s.key]) if s.key in plain_s and s.key in patched_s
                     else s for s in spec.services)
    gone_pdbs = set(plain.pdbs) - set(patched.pdbs)
    pdbs = tuple(p for p in spec.pdbs if p not in gone_pdbs) + tuple(p for p in patched.pdbs if p not in plain.pdbs)
    gone_hpas = set(plain.hpas) - set(patched.hpas)
    hpas = tuple(h for h in spec.hpas if h not in gone_hpas) + tuple(h for h in patched.hpas if h not in plain.hpas)
    return dataclasses.replace(spec, workloads=workloads, services=services, pdbs=pdbs, hpas=hpas)


def render_yaml(patches: Sequence[ManifestPatch]) -> str:
    """The patches as YAML documents, each with its comment, ready for ``kubectl patch`` or kustomize."""
    docs = []
    for p in patches:
        head = f"# {'new object' if p.new else 'patch'} {p.key}\n"
        if p.comment:
            head += "".join(f"# {line}\n" for line in p.comment.splitlines())
        docs.append(head + yaml.safe_dump(p.body, sort_keys=False, default_flow_style=False))
    return "---\n".join(docs)
