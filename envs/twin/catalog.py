"""The input sorted into kinds: identified, de-duplicated, owned instances dropped, the rest noted.

Objects a modelled controller made (a Deployment's ReplicaSets and Pods, a StatefulSet's, Job's or
DaemonSet's Pods, a CronJob's Jobs) are instances of their controller and leave silently when the
controller is in the input. Finished Jobs and suspended CronJobs are skipped with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from envs.twin.notes import Notes
from envs.twin.objects import (
    IRRELEVANT,
    ObjectId,
    SourcedObject,
    controller_of,
    flatten,
    identify,
    is_modelled,
)

OWNED_KINDS = frozenset({"Pod", "ReplicaSet", "Job"})
CONTROLLERS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"})


@dataclass(frozen=True)
class Entry:
    oid: ObjectId
    data: Mapping[str, object]
    source: str | None
    api_version: str

    @property
    def where(self) -> str:
        return self.oid.describe() + (f" ({self.source})" if self.source else "")


@dataclass
class Catalog:
    by_kind: dict[str, list[Entry]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Entry]:
        return self.by_kind.get(kind, [])


def _finished(data: Mapping[str, object]) -> str | None:
    status = data.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for c in conditions if isinstance(conditions, list) else []:
        if isinstance(c, Mapping) and c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return "completed" if c.get("type") == "Complete" else "failed"
    return None


def catalog(items: Iterable[SourcedObject], notes: Notes) -> Catalog:
    """Sort the input; notes about unreadable or unknown objects come sorted, whatever the input order."""
    unique: dict[tuple[str, str, str], Entry] = {}
    unread = Notes()
    for item in flatten(items):
        found = identify(item.data)
        where = f" ({item.source})" if item.source else ""
        if isinstance(found, str):
            unread.skipped(f"an object{where}", f"{found}; not a Kubernetes object the twin can read")
            continue
        api_version = item.data.get("apiVersion")
        entry = Entry(found, item.data, item.source, api_version if isinstance(api_version, str) else "")
        if not is_modelled(found, isinstance(api_version, str)):
            if found.kind not in IRRELEVANT:
                version = f" ({entry.api_version})" if entry.api_version else ""
                unread.skipped(f"{found.kind}{version} {found.ref}{where}", "kind not modelled by the twin")
            continue
        key = (found.kind, found.namespace, found.name)
        if key in unique:
            notes.add(f"{found.describe()} appears twice; the later one{where} replaces the earlier")
        unique[key] = entry
    for line in sorted(unread.lines()):
        notes.add(line)
    out = Catalog()
    for key in sorted(unique):
        out.by_kind.setdefault(key[0], []).append(unique[key])
    _drop_instances(out, notes)
    return out


def _drop_instances(cat: Catalog, notes: Notes) -> None:
    present = {(k, e.oid.namespace, e.oid.name) for k, entries in cat.by_kind.items() for e in entries}
    for kind in sorted(OWNED_KINDS):
        kept = []
        for entry in cat.of(kind):
            owner = controller_of(entry.data)
            if owner is not None and owner[0] == "Node":
                continue  # a static pod the kubelet runs from a file (control-plane components)
            if owner is not None and owner[0] in CONTROLLERS:
                if (owner[0], entry.oid.namespace, owner[1]) not in present:
                    notes.skipped(
                        entry.where,
                        f"made by {owner[0]} {entry.oid.namespace}/{owner[1]}, which is "
                        "not in the input; add it to model these pods",
                    )
                continue
            kept.append(entry)
        cat.by_kind[kind] = kept
    jobs = []
    for entry in cat.of("Job"):
        finished = _finished(entry.data)
        if finished:
            notes.skipped(entry.where, f"the Job has {finished}; it runs no more pods")
        else:
            jobs.append(entry)
    cat.by_kind["Job"] = jobs
    cron = []
    for entry in cat.of("CronJob"):
        spec = entry.data.get("spec")
        if isinstance(spec, Mapping) and spec.get("suspend") is True:
            notes.skipped(entry.where, "suspended; it starts no Jobs")
        else:
            cron.append(entry)
    cat.by_kind["CronJob"] = cron
