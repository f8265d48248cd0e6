"""Services and Ingresses: selectors, types and which Services are entry points.

Entry points are Services of type LoadBalancer or NodePort, Services an Ingress routes to (default
backend and rule paths, ``networking.k8s.io/v1`` and the older ``serviceName`` form), and Services
annotated ``chaos-agent.io/entrypoint: "true"``; ``"false"`` withdraws a Service from the entry points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from envs.spec import LabelSelector
from envs.twin.fields import Fields, Malformed
from envs.twin.objects import ObjectId

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
SERVICE_TYPES: tuple[ServiceType, ...] = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


@dataclass(frozen=True)
class ServiceDraft:
    namespace: str
    name: str
    selector: LabelSelector
    type: ServiceType
    annotations: tuple[tuple[str, str], ...]
    unquoted: tuple[str, ...]
    """Annotation keys whose YAML value was not a string (read as the string meant)."""

    @property
    def ref(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def describe(self) -> str:
        return f"Service {self.namespace}/{self.name}"


def draft_service(oid: ObjectId, obj: Mapping[str, object]) -> ServiceDraft:
    root = Fields.of(obj, "")
    spec = root.sub("spec")
    kind = spec.text("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        raise Malformed("spec.type", kind, "one of " + ", ".join(SERVICE_TYPES))
    selector = spec.string_map("selector")
    annotations, unquoted = root.sub("metadata").annotations()
    return ServiceDraft(
        namespace=oid.namespace,
        name=oid.name,
        selector=LabelSelector(match_labels=tuple(sorted(selector.items()))),
        type=kind,
        annotations=tuple(sorted(annotations.items())),
        unquoted=tuple(unquoted),
    )


def _backend_service(backend: Fields) -> str | None:
    service = backend.sub("service")
    return service.optional_text("name") or backend.optional_text("serviceName")


def ingress_backends(oid: ObjectId, obj: Mapping[str, object]) -> list[tuple[str, str]]:
    """The (namespace, Service) pairs an Ingress routes to."""
    spec = Fields.of(obj, "").sub("spec")
    names: list[str | None] = [
        _backend_service(spec.sub("defaultBackend")),
        _backend_service(spec.sub("backend")),
    ]
    for rule in spec.subs("rules"):
        for path in rule.sub("http").subs("paths"):
            names.append(_backend_service(path.sub("backend")))
    out: list[tuple[str, str]] = []
    for name in names:
        if name and (oid.namespace, name) not in out:
            out.append((oid.namespace, name))
    return out
