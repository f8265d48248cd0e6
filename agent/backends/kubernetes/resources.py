"""The API resources the backend reads and writes, and how their REST paths are built."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
            if subresource is not None:
                base += f"/{subresource}"
        return base


NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
PODS = Resource("", "v1", "pods", "Pod", namespaced=True)
SERVICES = Resource("", "v1", "services", "Service", namespaced=True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", namespaced=True)
EVENTS = Resource("", "v1", "events", "Event", namespaced=True)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", namespaced=True)
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet", namespaced=True)
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet", namespaced=True)
CRONJOBS = Resource("batch", "v1", "cronjobs", "CronJob", namespaced=True)
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet", namespaced=True)
JOBS = Resource("batch", "v1", "jobs", "Job", namespaced=True)
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", namespaced=True)
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", namespaced=True)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True)
EVENTS = Resource("", "v1", "events", "Event", namespaced=True)

CHAOS_MESH_GROUP_VERSION = "chaos-mesh.org/v1alpha1"
NETWORK_CHAOS = Resource("chaos-mesh.org", "v1alpha1", "networkchaos", "NetworkChaos", namespaced=True)
STRESS_CHAOS = Resource("chaos-mesh.org", "v1alpha1", "stresschaos", "StressChaos", namespaced=True)

SNAPSHOT_RESOURCES: tuple[Resource, ...] = (
    NODES,
    PODS,
    REPLICASETS,
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    JOBS,
    CRONJOBS,
    SERVICES,
    CONFIGMAPS,
    PDBS,
    HPAS,
)
"""What a snapshot reads and the watch cache keeps: what the digital twin builds a ClusterSpec from
(ReplicaSets tie pods to Deployments, DaemonSets reserve node capacity, ConfigMaps carry call targets)."""

WORKLOAD_RESOURCES = {"Deployment": DEPLOYMENTS, "StatefulSet": STATEFULSETS, "Job": JOBS}
