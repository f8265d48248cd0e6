"""The spec written back as manifests reads into the same spec; patches merge as strategic merge patches do."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from envs.scenarios import HELD_OUT, builtin, generate
from envs.spec import ClusterSpec, PdbSpec, Workload
from envs.twin import spec_from_objects
from envs.weaknesses.manifests import object_key, objects_of
from envs.weaknesses.patching import ManifestPatch, PatchError, apply_patches, merge, patched_spec, render_yaml

SPECS = {"ml-platform": builtin("ml-platform").spec, "storefront": builtin("storefront").spec,
         "generated-3": generate(3, HELD_OUT).spec}


def _comparable(w: Workload) -> Workload:
    """What the twin must read back exactly: everything but the annotations it was written in, the order of
    calls (the twin sorts them) and the surge of what never surges (StatefulSets, Jobs)."""
    surge = w.max_surge if w.kind == "Deployment" else 0
    return dataclasses.replace(w, annotations=(), calls=tuple(sorted(w.calls, key=lambda c: c.service)),
                               max_surge=surge)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_twin_reads_the_rendered_spec_back_unchanged(name: str) -> None:
    spec = SPECS[name]
    back = spec_from_objects(objects_of(spec), name=spec.name)
    assert {w.key: _comparable(w) for w in back.workloads} == {w.key: _comparable(w) for w in spec.workloads}
    assert set(back.services) == set(spec.services)
    assert set(back.pdbs) == set(spec.pdbs) and set(back.hpas) == set(spec.hpas)
    assert {(n.name, frozenset(n.labels), n.gpus, n.taints) for n in back.nodes} == {
        (n.name, frozenset(n.labels), n.gpus, n.taints) for n in spec.nodes}
    assert not back.notes, back.notes


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
