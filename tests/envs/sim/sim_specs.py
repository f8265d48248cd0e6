"""Small hand-built cluster specs for the simulator tests."""

from __future__ import annotations

from envs.spec import (
    HOSTNAME_LABEL,
    AntiAffinity,
    Call,
    ClusterSpec,
    LabelSelector,
    NodeSpec,
    PdbSpec,
    PodTemplate,
    Probe,
    ServiceSpec,
    Slo,
    Workload,
)

NS = "shop"


def nodes(n: int, **kw: object) -> tuple[NodeSpec, ...]:
    return tuple(NodeSpec(name=f"node-{i}", **kw) for i in range(n))  # type: ignore[arg-type]


def template(app: str, **kw: object) -> PodTemplate:
    return PodTemplate(labels=(("app", app),), **kw)  # type: ignore[arg-type]


def selector(app: str) -> LabelSelector:
    return LabelSelector(match_labels=(("app", app),))


def service(app: str, *, entry: bool = False, load: float = 0.0, slo: Slo | None = None,
            base_ms: float = 20.0) -> ServiceSpec:
    return ServiceSpec(NS, app, selector(app), entrypoint=entry, load_rps=load, slo=slo or Slo(),
                       base_latency_ms=base_ms)


def deployment(app: str, replicas: int, *, calls: tuple[Call, ...] = (), **tkw: object) -> Workload:
    return Workload(NS, app, "Deployment", replicas, template(app, **tkw), calls=calls)


PROBE = Probe(initial_delay_s=3.0)


def web_spec(replicas: int = 1, *, startup_s: float = 5.0, probe: Probe | None = PROBE,
             pdb_min: int | None = None, anti: bool = False, n_nodes: int = 3) -> ClusterSpec:
    """One entry-point Deployment 'web' behind Service 'web'."""
    aa = (AntiAffinity(selector("web"), HOSTNAME_LABEL),) if anti else ()
    w = deployment("web", replicas, startup_s=startup_s, readiness_probe=probe, anti_affinity=aa)
    pdbs = (PdbSpec(NS, "web-pdb", selector("web"), min_available=pdb_min),) if pdb_min is not None else ()
    return ClusterSpec("web", nodes(n_nodes), (w,), (service("web", entry=True, load=50.0),), pdbs)


WEB = f"{NS}/Deployment/web"
WEB_SVC = f"{NS}/Service/web"


def rich_spec() -> ClusterSpec:
    """Every target type: a call chain, a StatefulSet, a GPU training job, a data pipeline."""
    from envs.spec import NodeSpec, Pipeline, Taint, Toleration, Training

    call = Call(f"{NS}/Service/api", timeout_ms=800.0, retries=1)
    gpu_tol = (Toleration("nvidia.com/gpu", "Exists"),)

    def stage(name: str, kind: str, feeds: tuple[str, ...], **kw: object) -> Workload:
        return Workload(NS, name, "Deployment", 1, template(name), role="pipeline",
                        pipeline=Pipeline(kind, feeds=feeds, **kw))  # type: ignore[arg-type]

    wl = (
        deployment("web", 2, calls=(call,), readiness_probe=PROBE),
        deployment("api", 3, readiness_probe=PROBE),
        Workload(NS, "db", "StatefulSet", 2, template("db"), role="cache"),
        Workload(NS, "train", "Job", 1, template("train", gpus=2, tolerations=gpu_tol, startup_s=20.0),
                 role="training", training=Training(checkpoint_interval_s=600.0)),
        stage("ingest", "producer", (f"{NS}/Service/features",)),
        stage("features", "feature_store", (f"{NS}/Service/model",)),
        stage("model", "model", (), drift_monitor=True),
    )
    svcs = (
        service("web", entry=True, load=60.0), service("api"), service("db"),
        service("ingest"), service("features"), service("model"),
    )
    ns = (*nodes(3), NodeSpec("gpu-0", gpus=4, taints=(Taint("nvidia.com/gpu", "NoSchedule"),)))
    pdb = PdbSpec(NS, "api-pdb", selector("api"), min_available=1)
    return ClusterSpec("rich", ns, wl, svcs, (pdb,))


def busy_spec() -> ClusterSpec:
    """Zones, zone anti-affinity, an HPA, background rollouts, leader election, tight nodes."""
    from envs.spec import ZONE_LABEL, HpaSpec, NodeSpec

    zone_aa = (AntiAffinity(selector("api"), ZONE_LABEL),)
    host_aa = (AntiAffinity(selector("web"), HOSTNAME_LABEL),)
    wl = (
        Workload(NS, "web", "Deployment", 3, template("web", readiness_probe=PROBE, anti_affinity=host_aa,
                                                      cpu_millis=1000), calls=(
            Call(f"{NS}/Service/api", timeout_ms=500.0, retries=2),
            Call(f"{NS}/Service/cache", timeout_ms=100.0, fallback=True)), rollout_every_s=900.0),
        Workload(NS, "api", "Deployment", 2, template("api", anti_affinity=zone_aa, cpu_millis=1500),
                 rollout_every_s=1200.0, max_surge=0),
        Workload(NS, "cache", "StatefulSet", 3, template("cache", cpu_millis=500), role="cache",
                 leader_failover_s=10.0, rollout_every_s=2000.0),
    )
    svcs = (service("web", entry=True, load=120.0), service("api"), service("cache"))
    ns = tuple(NodeSpec(f"n{i}", cpu_millis=4000, labels=((ZONE_LABEL, f"z{i % 3}"),)) for i in range(5))
    hpa = HpaSpec(NS, "web", f"{NS}/Deployment/web", min_replicas=3, max_replicas=5,
                  target_cpu_utilization=0.7)
    pdbs = (PdbSpec(NS, "web", selector("web"), max_unavailable=1),
            PdbSpec(NS, "cache", selector("cache"), min_available="60%"))
    return ClusterSpec("busy", ns, wl, svcs, pdbs, (hpa,))
