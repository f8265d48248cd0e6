"""What the twin is built from: the manifests of ``[cluster.simulated] manifests`` or, with the Kubernetes
backend, the live cluster's objects; plus, when ``[prometheus] enabled``, the service graph it keeps.

Listing a live cluster reads the backend's snapshot resources and, when the API serves them and the
agent may list them, Namespaces, Ingresses, IngressClasses and the Gateway API's routes; a resource it
cannot list is one note, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from agent.config import Config
from agent.errors import ConfigError, ManifestError
from envs.spec import ClusterSpec
from envs.twin import ObservedCall, SourcedObject, build_spec

Origin = Literal["manifests", "kubernetes"]


@dataclass(frozen=True)
class TwinInputs:
    items: tuple[SourcedObject, ...]
    name: str
    origin: Origin
    observed: tuple[ObservedCall, ...] = ()
    notes: tuple[str, ...] = ()
    """What could not be read (a resource the agent may not list, service-graph series with bad names)."""


def gather(config: Config, *, api_factory: Callable[[Config], object] | None = None) -> TwinInputs:
    """The objects and telemetry the twin of ``config``'s cluster is built from."""
    if config.cluster.backend == "kubernetes":
        items, name, notes = _live(config, api_factory)
        origin: Origin = "kubernetes"
    else:
        items, name, notes = _files(config)
        origin = "manifests"
    observed, more = _telemetry(config)
    return TwinInputs(tuple(items), name, origin, observed, tuple(notes) + more)


def build(inputs: TwinInputs) -> ClusterSpec:
    """The twin of ``inputs``; input beyond what the twin simulates is one ``ManifestError`` line."""
    from envs.twin import ManifestError as TwinManifestError

    try:
        spec = build_spec(inputs.items, name=inputs.name, observed=inputs.observed)
    except TwinManifestError as e:
        where = "cluster.simulated.manifests" if inputs.origin == "manifests" else "the live cluster"
        raise ManifestError(f"{where}: {e}") from e
    return replace(spec, notes=inputs.notes + spec.notes)


def _files(config: Config) -> tuple[list[SourcedObject], str, list[str]]:
    from envs.twin import ManifestError as TwinManifestError
    from envs.twin import read_manifests

    manifests = config.cluster.simulated.manifests
    if manifests is None:
        raise ConfigError("the twin needs [cluster.simulated] manifests (a file or folder of Kubernetes YAML), "
                          'or [cluster] backend = "kubernetes" to read a live cluster')
    try:
        items, name = read_manifests(manifests)
    except TwinManifestError as e:
        raise ManifestError(f"cluster.simulated.manifests: {e}") from e
    return items, name, []


def _live(config: Config, api_factory: Callable[[Config], object] | None) -> tuple[list[SourcedObject], str, list[str]]:
    from agent.backends.kubernetes.api import KubeApi
    from agent.backends.kubernetes.errors import KubernetesApiError
    from agent.backends.kubernetes.resources import SNAPSHOT_RESOURCES, Resource

    optional = (
        Resource("", "v1", "namespaces", "Namespace", namespaced=False),
        Resource("networking.k8s.io", "v1", "ingresses", "Ingress", namespaced=True),
        Resource("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
        Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", namespaced=True),
        Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway", namespaced=True),
        Resource("gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", namespaced=False),
    )
    api = api_factory(config) if api_factory is not None else KubeApi.connect(config.cluster.kubernetes)
    assert isinstance(api, KubeApi)
    items: list[SourcedObject] = []
    notes: list[str] = []
    try:
        for res in (*SNAPSHOT_RESOURCES, *optional):
            try:
                listed = api.list(res)
            except KubernetesApiError as e:
                if res in SNAPSHOT_RESOURCES:
                    raise
                notes.append(f"{res.plural}.{res.group or 'core'} not read from the cluster ({e}); "
                             f"the twin goes without them")
                continue
            items.extend(SourcedObject(o) for o in listed.items)
    finally:
        api.close()
    return items, config.cluster.kubernetes.context or "kubernetes", notes


def _telemetry(config: Config) -> tuple[tuple[ObservedCall, ...], tuple[str, ...]]:
    prom = config.prometheus
    if not prom.enabled:
        return (), ()
    from agent.prometheus.client import PrometheusClient
    from agent.prometheus.retry import RetryPolicy
    from agent.prometheus.service_graph import MESHES, read_service_graph

    client = PrometheusClient(url=prom.url, timeout_s=prom.timeout_s, retry=RetryPolicy(
        attempts=prom.retry_attempts, base_s=prom.retry_base_s, max_s=prom.retry_max_s))
    try:
        graph = read_service_graph(client)
    finally:
        client.close()
    notes = []
    if not graph.sources:
        notes.append(f"no service-graph metrics ({', '.join(m.name for m in MESHES)}) at {prom.url}: the calls "
                     "come from the manifests alone")
    if graph.skipped:
        notes.append(f"{graph.skipped} service-graph series skipped: a label value is not a Kubernetes name")
    return graph.calls, tuple(notes)
