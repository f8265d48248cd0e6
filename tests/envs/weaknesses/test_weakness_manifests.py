"""The spec written back as manifests reads into the same spec; patches merge as strategic merge patches do."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from envs.scenarios import HELD_OUT, builtin, generate
from envs.spec import ClusterSpec, PdbSpec, Workload
from envs.twin import load_manifests, spec_from_objects
from envs.weaknesses.manifests import object_key, objects_of
from envs.weaknesses.patching import ManifestPatch, PatchError, apply_patches, merge, patched_spec, render_yaml

SPECS = {"ml-platform": builtin("ml-platform").spec, "storefront": builtin("storefront").spec,
         "generated-3": generate(3, HELD_OUT).spec}
REPO = Path(__file__).resolve().parents[3]
TWIN_BUILT = {p.relative_to(REPO).as_posix(): p for p in (
    *sorted(d for d in (REPO / "examples" / "manifests").iterdir() if d.is_dir() and d.name != "robust"),
    *sorted((REPO / "examples" / "manifests" / "robust").iterdir()),
    REPO / "tests" / "envs" / "twin" / "cases" / "bookshop")}
"""Specs the twin built from manifests: datastores, cold starts, cached calls, spreads, entry clients ... must
be written so the twin reads them back as they were."""


def _comparable(w: Workload) -> Workload:
    """What the twin must read back exactly: everything but the annotations it was written in, the order of
    calls (the twin sorts them) and the surge of what never surges (StatefulSets, Jobs)."""
    surge = w.max_surge if w.kind == "Deployment" else 0
    return dataclasses.replace(w, annotations=(), calls=tuple(sorted(w.calls, key=lambda c: c.service)),
                               max_surge=surge)


def _featured() -> ClusterSpec:
    """Every field the twin reads beyond the built-in scenarios: scheduling terms, lifecycle, cached and partial
    calls, a datastore on memory, an entry client."""
    from math import inf

    from envs.spec import (
        HOSTNAME_LABEL,
        ZONE_LABEL,
        AntiAffinity,
        Call,
        Datastore,
        EntryClient,
        LabelRequirement,
        LabelSelector,
        NodeSpec,
        PodAffinity,
        PodTemplate,
        PreferredNodeTerm,
        Probe,
        ServiceSpec,
        TopologySpread,
    )

    web_sel = LabelSelector((("app", "web"),))
    template = PodTemplate(
        labels=(("app", "web"),), cold_start_s=90.0, startup_probe=Probe(period_s=5.0, failure_threshold=30),
        readiness_probe=Probe(initial_delay_s=2.0),
        spread=(TopologySpread(1, ZONE_LABEL, web_sel, min_domains=3, same_revision=True),
                TopologySpread(2, HOSTNAME_LABEL, LabelSelector(every_pod=True), schedule_anyway=True,
                               honor_node_affinity=False, honor_taints=True)),
        pod_affinity=(PodAffinity(LabelSelector((("app", "cache"),)), ZONE_LABEL, required=False, weight=40,
                                  namespaces=("data",)),),
        anti_affinity=(AntiAffinity(web_sel, HOSTNAME_LABEL, required=False, weight=70, all_namespaces=True),),
        preferred_nodes=(PreferredNodeTerm(20, (LabelRequirement("pool", "In", ("fast",)),)),))
    calls = (Call("data/Service/cache", timeout_ms=250.0, retries=1, per_request=0.5),
             Call("data/Service/registry", cache_ttl_s=inf))
    web = Workload("shop", "web", "Deployment", 3, template, calls=calls)
    cache = Workload("data", "cache", "Deployment", 2, PodTemplate(labels=(("app", "cache"),)), datastore=Datastore(
        "redis", "store", "memory", "session keys", items=5000.0, replicated=True))
    registry = Workload("data", "registry", "Deployment", 1, PodTemplate(labels=(("app", "registry"),)))
    nodes = tuple(NodeSpec(f"n{i}", labels=((HOSTNAME_LABEL, f"n{i}"), (ZONE_LABEL, f"z{i % 3}"))) for i in range(6))
    services = (ServiceSpec("shop", "web", web_sel, entrypoint=True, load_rps=40.0,
                            client=EntryClient("envoy", tries=4, connect_timeout_ms=250.0, retry_on_error=True)),
                ServiceSpec("data", "cache", LabelSelector((("app", "cache"),))),
                ServiceSpec("data", "registry", LabelSelector((("app", "registry"),))))
    return ClusterSpec("featured", nodes, (web, cache, registry), services)


def test_every_field_the_twin_reads_is_written_back() -> None:
    spec = _featured()
    back = _same_back(spec)
    assert not back.notes, back.notes


def _same_back(spec: ClusterSpec) -> ClusterSpec:
    back = spec_from_objects(objects_of(spec), name=spec.name)
    assert {w.key: _comparable(w) for w in back.workloads} == {w.key: _comparable(w) for w in spec.workloads}
    assert set(back.services) == set(spec.services)
    assert set(back.pdbs) == set(spec.pdbs) and set(back.hpas) == set(spec.hpas)
    assert {(n.name, frozenset(n.labels), n.gpus, n.taints) for n in back.nodes} == {
        (n.name, frozenset(n.labels), n.gpus, n.taints) for n in spec.nodes}
    return back


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_twin_reads_the_rendered_spec_back_unchanged(name: str) -> None:
    back = _same_back(SPECS[name])
    assert not back.notes, back.notes


@pytest.mark.parametrize("name", sorted(TWIN_BUILT))
def test_a_spec_the_twin_built_reads_back_unchanged(name: str) -> None:
    spec = load_manifests(TWIN_BUILT[name])
    back = _same_back(spec)
    assert set(back.notes) <= set(spec.notes), set(back.notes) - set(spec.notes)  # only what the model says again


def test_merge_follows_strategic_merge_rules() -> None:
    base = {"spec": {"replicas": 1, "template": {"spec": {
        "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
        "affinity": {"nodeAffinity": {"x": 1}}, "tolerations": [{"key": "k"}]}}}}
    patch = {"spec": {"replicas": 3, "template": {"spec": {
        "containers": [{"name": "b", "image": "z"}, {"name": "c", "image": "w"}],
        "affinity": {"nodeAffinity": None, "podAntiAffinity": {"y": 2}}, "tolerations": [{"key": "j"}]}}}}
    out = merge(base, patch)
    pod = out["spec"]["template"]["spec"]
    assert out["spec"]["replicas"] == 3
    assert pod["containers"] == [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}]
    assert pod["affinity"] == {"podAntiAffinity": {"y": 2}}  # None deletes
    assert pod["tolerations"] == [{"key": "j"}]  # a list without a merge key is replaced
    assert base["spec"]["replicas"] == 1, "the base is not modified"


def test_merge_keys_are_the_api_s_and_a_delete_directive_removes_an_element() -> None:
    base = {"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}],
            "containers": [{"name": "c", "volumeMounts": [{"name": "a", "mountPath": "/x"}]}]}
    patch = {"volumes": [{"name": "a", "$patch": "delete"}],
             "containers": [{"name": "c", "volumeMounts": [{"name": "b", "mountPath": "/x"},
                                                           {"name": "b", "mountPath": "/y"}]}]}
    out = merge(base, patch)
    assert out["volumes"] == [{"name": "b", "emptyDir": {}}]
    # volumeMounts merge by mountPath (patchMergeKey in the API): /x is re-pointed, /y added
    assert out["containers"][0]["volumeMounts"] == [{"name": "b", "mountPath": "/x"}, {"name": "b", "mountPath": "/y"}]


def test_a_patch_of_a_missing_object_is_refused() -> None:
    with pytest.raises(PatchError, match="ns/Deployment/ghost"):
        apply_patches([], [ManifestPatch("ns/Deployment/ghost", {"spec": {"replicas": 2}})])


def test_patched_spec_changes_exactly_what_the_patch_says() -> None:
    spec: ClusterSpec = SPECS["ml-platform"]
    target = next(w for w in spec.workloads if w.replicas == 1 and w.kind == "Deployment")
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": target.name,
                                                                         "namespace": target.namespace},
            "spec": {"replicas": 4}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "new", "namespace": target.namespace},
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(target.template.labels)}}}
    fixed = patched_spec(spec, [ManifestPatch(target.key, body),
                                ManifestPatch(f"{target.namespace}/PodDisruptionBudget/new", pdb, new=True)])
    assert fixed.workload(target.key) == dataclasses.replace(target, replicas=4)
    assert [w for w in fixed.workloads if w.key != target.key] == [w for w in spec.workloads if w.key != target.key]
    assert fixed.services == spec.services and fixed.nodes == spec.nodes
    [added] = set(fixed.pdbs) - set(spec.pdbs)
    assert added == PdbSpec(target.namespace, "new", added.selector, max_unavailable=1)
    assert added.selector.matches(target.template.label_map)


def test_rendered_patches_are_yaml_documents_with_their_comments() -> None:
    text = render_yaml([ManifestPatch("ns/Deployment/a", {"kind": "Deployment", "spec": {"replicas": 2}},
                                      comment="two replicas"),
                        ManifestPatch("ns/PodDisruptionBudget/a", {"kind": "PodDisruptionBudget"}, new=True)])
    docs = list(yaml.safe_load_all(text))
    assert docs == [{"kind": "Deployment", "spec": {"replicas": 2}}, {"kind": "PodDisruptionBudget"}]
    assert "# patch ns/Deployment/a\n# two replicas" in text and "# new object ns/PodDisruptionBudget/a" in text


def test_object_keys_name_namespaced_and_cluster_objects() -> None:
    objs = objects_of(SPECS["storefront"])
    keys = {object_key(o) for o in objs}
    assert "shop/Deployment/currency" in keys and any(k.startswith("Node/") for k in keys)
