"""The twin reads topology spread constraints, pod (anti-)affinity across namespaces and preferred terms, and
the simulator places the twin's pods by them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from envs.sim import SimulatedCluster
from envs.spec import ZONE_LABEL, LabelRequirement, LabelSelector, PreferredNodeTerm
from envs.twin import spec_from_objects
from tests.envs.twin.objects import deployment, node

SPREAD_ZONE = {"maxSkew": 1, "topologyKey": ZONE_LABEL, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_spread_constraint_fields_and_match_label_keys() -> None:
    spread = [
        {**SPREAD_ZONE, "minDomains": 3, "matchLabelKeys": ["pod-template-hash", "tier", "absent"],
         "nodeAffinityPolicy": "Ignore", "nodeTaintsPolicy": "Honor"},
        {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {}},
    ]
    obj = deployment("web", topologySpreadConstraints=spread)
    obj["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    (w,) = spec_from_objects([obj, node("n")], name="t").workloads
    hard, soft = w.template.spread
    assert (hard.max_skew, hard.min_domains, hard.schedule_anyway, hard.same_revision) == (1, 3, False, True)
    assert (hard.honor_node_affinity, hard.honor_taints) == (False, True)
    # matchLabelKeys: the pod's own value of "tier" is ANDed in; keys the pod lacks are ignored.
    assert hard.selector.match_expressions == (LabelRequirement("tier", "In", ("front",)),)
    assert hard.selector.matches({"app": "web", "tier": "front"}) and not hard.selector.matches({"app": "web"})
    assert soft.schedule_anyway and soft.selector.every_pod and soft.min_domains is None


def test_malformed_spread_constraints_skip_the_workload_with_a_note() -> None:
    bad = [{**SPREAD_ZONE, "maxSkew": 0}]
    soft_min = [{**SPREAD_ZONE, "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}]
    spec = spec_from_objects([deployment("a", topologySpreadConstraints=bad),
                              deployment("b", topologySpreadConstraints=soft_min), node("n")], name="t")
    assert not spec.workloads
    text = "\n".join(spec.notes)
    assert "skipped Deployment default/a" in text and "maxSkew must be an integer of at least 1" in text
    assert "skipped Deployment default/b" in text and "minDomains must be an integer >= 1, with DoNotSchedule" in text


def test_affinity_namespaces_and_namespace_selector_resolve_against_namespace_objects() -> None:
    term = {"topologyKey": ZONE_LABEL, "labelSelector": {"matchLabels": {"app": "cache"}},
            "namespaces": ["extra"], "namespaceSelector": {"matchLabels": {"team": "data"}}}
    every = {"topologyKey": ZONE_LABEL, "labelSelector": {"matchLabels": {"app": "cache"}}, "namespaceSelector": {}}
    by_name = {"topologyKey": ZONE_LABEL, "labelSelector": {"matchLabels": {"app": "cache"}},
               "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}
    affinity = {
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term, every]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 40, "podAffinityTerm": by_name}]},
    }
    objs = [namespace("data-a", team="data"), namespace("data-b", team="data"), namespace("web", team="web"),
            deployment("web", namespace="web", affinity=affinity), deployment("x", namespace="ops"), node("n")]
    (_, w) = sorted(spec_from_objects(objs, name="t").workloads, key=lambda w: w.namespace != "ops")
    first, second = w.template.pod_affinity
    assert first.namespaces == ("data-a", "data-b", "extra") and not first.all_namespaces
    assert second.all_namespaces
    (anti,) = w.template.anti_affinity
    # A namespace known only from its objects still carries kubernetes.io/metadata.name.
    assert (anti.required, anti.weight, anti.namespaces) == (False, 40, ("ops",))


def test_preferred_node_affinity_terms_are_read_with_their_weights() -> None:
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 5, "preference": {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]}},
    ]}}
    spec = spec_from_objects([deployment("web", affinity=affinity), node("n")], name="t")
    assert spec.workloads[0].template.preferred_nodes == (
        PreferredNodeTerm(80, (LabelRequirement("disk", "In", ("ssd",)),)), PreferredNodeTerm(5, ()))
    assert any("preferred node affinity operator Gt on cores (ignored)" in n for n in spec.notes)


def test_twin_of_a_spread_deployment_places_it_as_kubernetes_would() -> None:
    # One big node in zone-a would take every replica by least allocation alone.
    nodes = [node("a-big", cpu="32", memory="128Gi", zone="zone-a"), node("b-1", zone="zone-b"),
             node("c-1", zone="zone-c")]
    spec = spec_from_objects([deployment("web", replicas=6, topologySpreadConstraints=[SPREAD_ZONE]), *nodes],
                             name="t")
    sim = SimulatedCluster(spec, seed=0)
    zone = {n.name: n.zone for n in spec.nodes}
    assert Counter(zone[p.node] for p in sim.pods() if p.node) == Counter({"zone-a": 2, "zone-b": 2, "zone-c": 2})


def test_empty_term_selector_reads_as_every_pod_and_a_missing_one_as_none() -> None:
    affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": ZONE_LABEL, "labelSelector": {}}, {"topologyKey": ZONE_LABEL}]}}
    (w,) = spec_from_objects([deployment("web", affinity=affinity), node("n")], name="t").workloads
    everything, nothing = w.template.anti_affinity
    assert everything.selector.every_pod and nothing.selector == LabelSelector()
    assert not nothing.selector.matches({"app": "web"})
