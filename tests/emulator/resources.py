"""The resource types the emulator serves, as a real API server's discovery documents describe them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: tuple[str, ...] = ()
    singular: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"


_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

BUILTIN: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, ("status",)),
    ResourceType("", "v1", "nodes", "Node", False, ("status",)),
    ResourceType("", "v1", "pods", "Pod", True, ("status", "eviction")),
    ResourceType("", "v1", "services", "Service", True, ("status",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True),
    ResourceType("", "v1", "events", "Event", True),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("status", "scale")),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("status", "scale")),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("status", "scale")),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("status",)),
    ResourceType("batch", "v1", "jobs", "Job", True, ("status",)),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("status",)),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("status",)),
    ResourceType("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("status",)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
)

CHAOS_MESH: tuple[ResourceType, ...] = (
    ResourceType("chaos-mesh.org", "v1alpha1", "networkchaos", "NetworkChaos", True, ("status",)),
    ResourceType("chaos-mesh.org", "v1alpha1", "stresschaos", "StressChaos", True, ("status",)),
    ResourceType("chaos-mesh.org", "v1alpha1", "podchaos", "PodChaos", True, ("status",)),
)


def resource_list(group_version: str, types: list[ResourceType]) -> dict[str, object]:
    """An APIResourceList document for one group/version."""
    resources: list[dict[str, object]] = []
    for t in types:
        resources.append(
            {
                "name": t.plural,
                "singularName": t.singular or t.kind.lower(),
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": _VERBS,
            }
        )
        for sub in t.subresources:
            verbs = ["create"] if sub == "eviction" else ["get", "patch", "update"]
            kind = "Eviction" if sub == "eviction" else ("Scale" if sub == "scale" else t.kind)
            resources.append(
                {
                    "name": f"{t.plural}/{sub}",
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": kind,
                    "verbs": verbs,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
