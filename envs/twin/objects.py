"""Which object is which: identity, API group checks, ``List`` flattening and controller ownership.

The twin reads the kinds in ``MODELLED``; kinds in ``IRRELEVANT`` carry nothing the model needs and are
dropped silently; anything else is skipped with a note. A kind counts only in its own API group, so a
Knative ``serving.knative.dev/v1 Service`` is not mistaken for a core Service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"

# kind -> API groups it is read from ("" is the core group).
MODELLED: dict[str, tuple[str, ...]] = {
    "Node": ("",),
    "Pod": ("",),
    "Service": ("",),
    "ConfigMap": ("",),
    "Namespace": ("",),
    "Deployment": ("apps", "extensions"),
    "StatefulSet": ("apps",),
    "DaemonSet": ("apps", "extensions"),
    "ReplicaSet": ("apps", "extensions"),
    "Job": ("batch",),
    "CronJob": ("batch",),
    "Ingress": ("networking.k8s.io", "extensions"),
    "IngressClass": ("networking.k8s.io",),
    "HTTPRoute": ("gateway.networking.k8s.io",),
    "Gateway": ("gateway.networking.k8s.io",),
    "GatewayClass": ("gateway.networking.k8s.io",),
    "PodDisruptionBudget": ("policy",),
    "HorizontalPodAutoscaler": ("autoscaling",),
}

# Kinds that say nothing about capacity, placement, calls or disruption: dropped without a note.
IRRELEVANT = frozenset(
    {
        "Secret",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "StorageClass",
        "Endpoints",
        "EndpointSlice",
        "ControllerRevision",
        "Event",
        "Lease",
    }
)

CLUSTER_SCOPED = frozenset(
    {
        "Node",
        "Namespace",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "GatewayClass",
        "RuntimeClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
    }
)


@dataclass(frozen=True)
class SourcedObject:
    """One raw object and where it came from (``file:line``), when it came from a file."""

    data: Mapping[str, object]
    source: str | None = None


@dataclass(frozen=True)
class ObjectId:
    kind: str
    namespace: str
    name: str
    api_group: str

    @property
    def ref(self) -> str:
        """``namespace/name``, or ``name`` for a cluster-scoped object."""
        return self.name if self.kind in CLUSTER_SCOPED else f"{self.namespace}/{self.name}"

    def describe(self) -> str:
        return f"{self.kind} {self.ref}"


def api_group(api_version: object) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    text = api_version if isinstance(api_version, str) else ""
    return text.rsplit("/", 1)[0] if "/" in text else ""


def identify(obj: Mapping[str, object]) -> ObjectId | str:
    """The object's identity, or why it has none."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        return "no kind"
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return f"{kind} without metadata"
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return f"{kind} without metadata.name"
    namespace = metadata.get("namespace")
    if kind in CLUSTER_SCOPED:
        namespace = ""
    elif not isinstance(namespace, str) or not namespace:
        namespace = DEFAULT_NAMESPACE
    return ObjectId(kind, namespace, name, api_group(obj.get("apiVersion")))


def is_modelled(oid: ObjectId, has_api_version: bool) -> bool:
    groups = MODELLED.get(oid.kind)
    return groups is not None and (not has_api_version or oid.api_group in groups)


def flatten(objects: Iterable[SourcedObject]) -> Iterable[SourcedObject]:
    """Expand ``kind: List`` and typed lists (``PodList`` ...) as the API and kubectl print them.

    Items of a typed list come without ``kind``; they take it from the list's kind.
    """
    for item in objects:
        kind = item.data.get("kind")
        items = item.data.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            item_kind = kind[: -len("List")]
            for i, sub in enumerate(items):
                source = f"{item.source} items[{i}]" if item.source else None
                if isinstance(sub, Mapping) and item_kind and "kind" not in sub:
                    sub = {**sub, "kind": item_kind, "apiVersion": item.data.get("apiVersion")}
                if isinstance(sub, Mapping):
                    yield from flatten([SourcedObject(sub, source)])
                else:
                    yield SourcedObject({"__not_an_object__": sub}, source)
        else:
            yield item


def controller_of(obj: Mapping[str, object]) -> tuple[str, str] | None:
    """The (kind, name) of the object's controlling owner, seen through ReplicaSets to Deployments.

    A ReplicaSet a Deployment made is named ``<deployment>-<pod-template-hash>``, and its pods carry
    that hash as a label, so a Pod resolves to its Deployment even when the ReplicaSet is not listed.
    """
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    owners = metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    candidates = [o for o in owners if isinstance(o, Mapping)]
    controllers = [o for o in candidates if o.get("controller") is True] or candidates
    if not controllers:
        return None
    kind, name = controllers[0].get("kind"), controllers[0].get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    labels = metadata.get("labels")
    template_hash = labels.get("pod-template-hash") if isinstance(labels, Mapping) else None
    if kind == "ReplicaSet" and isinstance(template_hash, str) and name.endswith("-" + template_hash):
        return "Deployment", name[: -len(template_hash) - 1]
    return kind, name
