"""Reading manifests: one file or a folder, multi-document YAML, kind: List, JSON, and unreadable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from envs.twin import ManifestError, load_manifests, spec_from_objects
from tests.envs.twin.objects import deployment, service


def _write(path: Path, *docs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def test_multi_document_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "app.yaml", deployment("web"), service("web"), None)
    spec = load_manifests(f)
    assert spec.name == "app"
    assert [w.key for w in spec.workloads] == ["default/Deployment/web"]
    assert [s.key for s in spec.services] == ["default/Service/web"]


def test_folder_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path / "shop" / "b" / "web.yml", deployment("web", replicas=2))
    _write(tmp_path / "shop" / "a.yaml", deployment("api"))
    (tmp_path / "shop" / "api.json").write_text(json.dumps(service("api")))
    (tmp_path / "shop" / "README.md").write_text("not a manifest")
    _write(tmp_path / "shop" / ".git" / "x.yaml", deployment("hidden"))
    spec = load_manifests(tmp_path / "shop")
    assert spec.name == "shop"
    assert [w.name for w in spec.workloads] == ["api", "web"]
    assert [s.name for s in spec.services] == ["api"]


def test_later_duplicate_replaces_earlier_with_a_note(tmp_path: Path) -> None:
    _write(tmp_path / "m" / "1.yaml", deployment("web", replicas=1))
    _write(tmp_path / "m" / "2.yaml", deployment("web", replicas=5))
    spec = load_manifests(tmp_path / "m")
    assert spec.workloads[0].replicas == 5
    assert any("appears twice" in n and "2.yaml" in n for n in spec.notes)


def test_kind_list_as_kubectl_prints_it(tmp_path: Path) -> None:
    listed = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [deployment("web"), service("web")],
    }
    spec = load_manifests(_write(tmp_path / "list.yaml", listed))
    assert [w.name for w in spec.workloads] == ["web"]
    assert [s.name for s in spec.services] == ["web"]


def test_typed_lists_give_their_items_a_kind() -> None:
    items = [deployment("web")]
    del items[0]["kind"]
    spec = spec_from_objects([{"apiVersion": "apps/v1", "kind": "DeploymentList", "items": items}], name="x")
    assert [w.key for w in spec.workloads] == ["default/Deployment/web"]


def test_json_file_and_json_list(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(
        json.dumps({"kind": "List", "apiVersion": "v1", "items": [deployment("web"), service("web")]})
    )
    assert [w.name for w in load_manifests(tmp_path / "one.json").workloads] == ["web"]


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "broken.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: [unclosed\n")
    with pytest.raises(ManifestError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_manifests(f)


def test_invalid_yaml_in_second_document_names_its_line(tmp_path: Path) -> None:
    f = tmp_path / "two.yaml"
    f.write_text("kind: Service\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: b\n  x: : y\n")
    with pytest.raises(ManifestError) as err:
        load_manifests(f)
    line = int(str(err.value).split(":")[1])
    assert line >= 5


def test_helm_template_gets_a_hint(tmp_path: Path) -> None:
    f = tmp_path / "deploy.yaml"
    f.write_text('metadata:\n  name: {{ .Release.Name }}\n  labels: {{ include "x" . }}: bad\n')
    with pytest.raises(ManifestError, match="helm template"):
        load_manifests(f)


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{\n "kind": "Service",\n "metadata": {\n}}}\n')
    with pytest.raises(ManifestError, match=r"bad\.json:4: not valid JSON"):
        load_manifests(f)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_manifests(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match=r"no \*\.yaml"):
        load_manifests(tmp_path / "empty")


def test_manifest_error_is_a_value_error() -> None:
    assert issubclass(ManifestError, ValueError)


def test_documents_that_are_not_objects_are_noted(tmp_path: Path) -> None:
    f = tmp_path / "odd.yaml"
    f.write_text("just a string\n---\n- a\n- list\n---\n" + yaml.safe_dump(deployment("web")))
    spec = load_manifests(f)
    assert [w.name for w in spec.workloads] == ["web"]
    assert sum("not a Kubernetes object" in n for n in spec.notes) == 2
    assert any("odd.yaml:1" in n for n in spec.notes)
