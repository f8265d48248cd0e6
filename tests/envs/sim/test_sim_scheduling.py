"""kube-scheduler semantics: topology spread (hard and soft, minDomains, revisions), pod affinity and
anti-affinity across namespaces, preferred terms as weighted scores, and the system default spreading."""

from __future__ import annotations

from collections import Counter

from sim_specs import NS, selector

from envs.faults import Fault, FaultKind
from envs.sim import SimulatedCluster
from envs.spec import (
    HOSTNAME_LABEL,
    ZONE_LABEL,
    AntiAffinity,
    ClusterSpec,
    LabelRequirement,
    LabelSelector,
    NodeSpec,
    PodAffinity,
    PodTemplate,
    PreferredNodeTerm,
    Taint,
    TopologySpread,
    Workload,
)


def zoned(name: str, zone: str, cpu: int = 4000, **kw: object) -> NodeSpec:
    labels = ((HOSTNAME_LABEL, name), (ZONE_LABEL, zone), *kw.pop("labels", ()))  # type: ignore[misc]
    return NodeSpec(name, cpu_millis=cpu, memory_mib=cpu * 4, labels=labels, **kw)  # type: ignore[arg-type]


def wl(app: str, replicas: int, ns: str = NS, kind: str = "Deployment", **tkw: object) -> Workload:
    return Workload(ns, app, kind, replicas, PodTemplate(labels=(("app", app),), cpu_millis=500, memory_mib=512,
                                                           **tkw))  # type: ignore[arg-type]


def placement(sim: SimulatedCluster, app: str) -> list[str]:
    """The nodes of a workload's pods, sorted; '-' for a pending pod."""
    return sorted((p.node or "-") for p in sim.pods() if p.workload.endswith(f"/{app.lstrip('/')}"))


def zones_of(spec: ClusterSpec, sim: SimulatedCluster, app: str) -> Counter[str]:
    zone = {n.name: n.zone for n in spec.nodes}
    return Counter(zone[p.node] for p in sim.pods() if p.workload.endswith(f"/{app.lstrip('/')}") and p.node)


# A big node in zone a draws every pod by LeastAllocated alone; the rules below must override it.
UNEVEN = (zoned("a-big", "zone-a", cpu=32000), zoned("b-1", "zone-b"), zoned("c-1", "zone-c"))


def test_do_not_schedule_zone_spread_holds_max_skew_against_least_allocated() -> None:
    spread = (TopologySpread(1, ZONE_LABEL, selector("web")),)
    spec = ClusterSpec("t", UNEVEN, (wl("web", 6, spread=spread),))
    sim = SimulatedCluster(spec, seed=0)
    assert zones_of(spec, sim, "web") == Counter({"zone-a": 2, "zone-b": 2, "zone-c": 2})


def test_max_skew_leaves_pods_pending_when_a_domain_is_full() -> None:
    # zone-c fits one pod only: with maxSkew 1 the others may run at most one ahead of it.
    nodes = (zoned("a-big", "zone-a", cpu=32000), zoned("b-1", "zone-b", cpu=32000), zoned("c-1", "zone-c", cpu=700))
    spread = (TopologySpread(1, ZONE_LABEL, selector("web")),)
    spec = ClusterSpec("t", nodes, (wl("web", 6, spread=spread),))
    sim = SimulatedCluster(spec, seed=0)
    assert zones_of(spec, sim, "web") == Counter({"zone-a": 2, "zone-b": 2, "zone-c": 1})
    assert placement(sim, "web").count("-") == 1


def test_min_domains_treats_the_global_minimum_as_zero_while_domains_are_missing() -> None:
    two_zones = (zoned("a-1", "zone-a", cpu=32000), zoned("b-1", "zone-b", cpu=32000))
    spread = (TopologySpread(1, ZONE_LABEL, selector("web"), min_domains=3),)
    spec = ClusterSpec("t", two_zones, (wl("web", 4, spread=spread),))
    sim = SimulatedCluster(spec, seed=0)
    # Fewer domains than minDomains: no domain may hold more than maxSkew pods.
    assert zones_of(spec, sim, "web") == Counter({"zone-a": 1, "zone-b": 1})
    assert placement(sim, "web").count("-") == 2
    relaxed = ClusterSpec("t", two_zones, (wl("web", 4, spread=(TopologySpread(1, ZONE_LABEL, selector("web")),)),))
    assert placement(SimulatedCluster(relaxed, seed=0), "web").count("-") == 0


def test_schedule_anyway_prefers_spreading_but_never_blocks() -> None:
    nodes = (zoned("a-big", "zone-a", cpu=32000), zoned("b-1", "zone-b", cpu=1200))
    spread = (TopologySpread(1, HOSTNAME_LABEL, selector("web"), schedule_anyway=True),)
    spec = ClusterSpec("t", nodes, (wl("web", 5, spread=spread),))
    sim = SimulatedCluster(spec, seed=0)
    where = Counter(placement(sim, "web"))
    assert where["b-1"] == 2 and where["a-big"] == 3  # b-1 takes what fits; nothing is left pending


def test_nodes_without_the_topology_key_are_not_eligible_for_a_hard_constraint() -> None:
    nodes = (zoned("a-1", "zone-a"), NodeSpec("bare", cpu_millis=32000, memory_mib=128000,
                                              labels=((HOSTNAME_LABEL, "bare"),)))
    spread = (TopologySpread(3, ZONE_LABEL, selector("web")),)
    sim = SimulatedCluster(ClusterSpec("t", nodes, (wl("web", 2, spread=spread),)), seed=0)
    assert placement(sim, "web") == ["a-1", "a-1"]


def test_required_pod_affinity_follows_the_target_and_the_first_pod_may_start_a_group() -> None:
    cache = wl("cache", 1, node_selector=(("disk", "ssd"),))
    near = (PodAffinity(selector("cache"), ZONE_LABEL),)
    web = wl("web", 3, pod_affinity=near)
    group = wl("group", 3, pod_affinity=(PodAffinity(selector("group"), HOSTNAME_LABEL),))
    nodes = (*UNEVEN[:2], zoned("c-1", "zone-c", labels=(("disk", "ssd"),)))
    spec = ClusterSpec("t", nodes, (cache, web, group))
    sim = SimulatedCluster(spec, seed=0)
    assert zones_of(spec, sim, "web") == Counter({"zone-c": 3})
    assert len(set(placement(sim, "group"))) == 1 and "-" not in placement(sim, "group")


def test_pod_affinity_without_a_target_anywhere_stays_pending() -> None:
    web = wl("web", 2, pod_affinity=(PodAffinity(selector("cache"), ZONE_LABEL),))
    sim = SimulatedCluster(ClusterSpec("t", UNEVEN, (web,)), seed=0)
    assert placement(sim, "web") == ["-", "-"]


def test_affinity_terms_reach_other_namespaces_only_when_asked() -> None:
    cache = wl("cache", 1, ns="data", node_selector=(("disk", "ssd"),))
    nodes = (*UNEVEN[:2], zoned("c-1", "zone-c", labels=(("disk", "ssd"),)))
    own_ns = wl("web", 1, pod_affinity=(PodAffinity(selector("cache"), ZONE_LABEL),))
    other_ns = wl("api", 1, pod_affinity=(PodAffinity(selector("cache"), ZONE_LABEL, namespaces=("data",)),))
    every_ns = wl("ui", 1, pod_affinity=(PodAffinity(selector("cache"), ZONE_LABEL, all_namespaces=True),))
    spec = ClusterSpec("t", nodes, (cache, own_ns, other_ns, every_ns))
    sim = SimulatedCluster(spec, seed=0)
    assert placement(sim, "web") == ["-"]  # no cache pod in its own namespace
    assert placement(sim, "api") == ["c-1"] and placement(sim, "ui") == ["c-1"]


def test_required_anti_affinity_across_namespaces_is_symmetric() -> None:
    lonely = wl("lonely", 1, ns="other", anti_affinity=(AntiAffinity(selector("web"), HOSTNAME_LABEL,
                                                                     namespaces=(NS,)),))
    spec = ClusterSpec("t", UNEVEN, (lonely, wl("web", 2)))
    sim = SimulatedCluster(spec, seed=0)
    assert placement(sim, "lonely") == ["a-big"]
    assert placement(sim, "web") == ["b-1", "c-1"]  # the existing pod's term keeps them off its node


def test_preferred_pod_affinity_weight_outweighs_least_allocated() -> None:
    cache = wl("cache", 1, node_selector=(("disk", "ssd"),))
    nodes = (UNEVEN[0], zoned("c-1", "zone-c", labels=(("disk", "ssd"),)))
    web = wl("web", 1, pod_affinity=(PodAffinity(selector("cache"), HOSTNAME_LABEL, required=False, weight=100),))
    plain = wl("plain", 1)
    sim = SimulatedCluster(ClusterSpec("t", nodes, (cache, web, plain)), seed=0)
    assert placement(sim, "web") == ["c-1"]
    assert placement(sim, "plain") == ["a-big"]  # what LeastAllocated alone chooses


def test_preferred_anti_affinity_and_preferred_node_affinity_score() -> None:
    avoid = wl("web", 2, anti_affinity=(AntiAffinity(selector("web"), ZONE_LABEL, required=False, weight=100),))
    spec = ClusterSpec("t", (zoned("a-1", "zone-a", cpu=32000), zoned("a-2", "zone-a", cpu=32000),
                             zoned("b-1", "zone-b", cpu=8000)), (avoid,))
    assert Counter(zones_of(spec, SimulatedCluster(spec, seed=0), "web")) == Counter({"zone-a": 1, "zone-b": 1})
    prefer = (PreferredNodeTerm(100, (LabelRequirement(ZONE_LABEL, "In", ("zone-b",)),)),)
    spec2 = ClusterSpec("t", UNEVEN, (wl("api", 1, preferred_nodes=prefer),))
    assert placement(SimulatedCluster(spec2, seed=0), "api") == ["b-1"]


def test_prefer_no_schedule_taints_are_avoided_when_possible() -> None:
    tainted = zoned("a-big", "zone-a", cpu=32000, taints=(Taint("spot", "PreferNoSchedule"),))
    spec = ClusterSpec("t", (tainted, zoned("b-1", "zone-b")), (wl("web", 1),))
    assert placement(SimulatedCluster(spec, seed=0), "web") == ["b-1"]


def test_system_default_spreading_spreads_replicas_without_any_constraint() -> None:
    # LeastAllocated alone puts all three on the big node; the default constraints (ScheduleAnyway, hostname
    # maxSkew 3, zone maxSkew 5) pull replicas onto the small nodes too.
    spec = ClusterSpec("t", (zoned("a-big", "zone-a", cpu=16000), zoned("b-1", "zone-b", cpu=8000),
                             zoned("c-1", "zone-c", cpu=8000)), (wl("web", 3),))
    assert len(set(placement(SimulatedCluster(spec, seed=0), "web"))) == 3


def test_spread_counts_only_the_current_revision_with_pod_template_hash() -> None:
    # A canary with the same app label sits in zone-a. Counting it, web must fill zone-b; with matchLabelKeys
    # pod-template-hash only web's own revision counts, so web spreads over both zones.
    nodes = (zoned("a-1", "zone-a", cpu=32000), zoned("b-1", "zone-b", cpu=32000))
    canary = Workload(NS, "web-canary", "Deployment", 2, PodTemplate(labels=(("app", "web"),), cpu_millis=500,
                                                                      node_selector=((ZONE_LABEL, "zone-a"),)))

    def web_zones(same_revision: bool) -> Counter[str]:
        rule = (TopologySpread(1, ZONE_LABEL, selector("web"), same_revision=same_revision),)
        spec = ClusterSpec("t", nodes, (canary, wl("web", 2, spread=rule)))
        return zones_of(spec, SimulatedCluster(spec, seed=0), "/web")

    assert web_zones(False) == Counter({"zone-b": 2})
    assert web_zones(True) == Counter({"zone-a": 1, "zone-b": 1})
    # A replacement after a pod kill keeps the spread.
    rule = (TopologySpread(1, ZONE_LABEL, selector("web"), same_revision=True),)
    spec = ClusterSpec("t", nodes, (wl("web", 2, spread=rule),))
    sim = SimulatedCluster(spec, seed=0)
    sim.inject(Fault(FaultKind.POD_KILL, 0, f"{NS}/Deployment/web"), injection_id="k")
    sim.wait(30)
    assert zones_of(spec, sim, "web") == Counter({"zone-a": 1, "zone-b": 1})


def test_empty_selector_in_a_term_selects_every_pod_of_the_namespace() -> None:
    nodes = (zoned("a-1", "zone-a", cpu=32000), zoned("b-1", "zone-b", cpu=32000))
    every = LabelSelector(every_pod=True)
    spec = ClusterSpec("t", nodes, (wl("db", 1, node_selector=((ZONE_LABEL, "zone-a"),)),
                                    wl("web", 1, anti_affinity=(AntiAffinity(every, ZONE_LABEL),))))
    assert placement(SimulatedCluster(spec, seed=0), "web") == ["b-1"]
