"""A cluster from manifests with one planted weakness, and applying a fix to its files, for the agent-level tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from envs.twin.loader import manifest_files
from envs.weaknesses.patching import ManifestPatch, apply_patches

ROOT = Path(__file__).resolve().parents[3]
ROBUST_SHOP = ROOT / "examples" / "manifests" / "robust" / "shop"
CART = "shop/Deployment/cart"

WEAKEN = [
    # cart: one replica, called by the frontend without a fallback: a single point of failure on the main path
    ManifestPatch(CART, {"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "cart", "namespace": "shop"}, "spec": {
                             "replicas": 1, "template": {"metadata": {"annotations": {
                                 "chaos-agent.io/capacity-rps-per-pod": "1000"}}}}}),
    ManifestPatch("shop/Deployment/frontend", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "frontend", "namespace": "shop"},
        "spec": {"template": {"metadata": {"annotations": {"chaos-agent.io/calls": (
            '{"cart": {"fallback": false, "retries": 0, "timeout_ms": 300}, '
            '"catalog": {"fallback": true, "retries": 1, "timeout_ms": 300}, '
            '"checkout": {"fallback": true, "retries": 1, "timeout_ms": 300}, '
            '"redis-cache": {"fallback": true, "retries": 1, "timeout_ms": 100}}')}}}}}),
]


def objects(folder: Path) -> list[dict[str, Any]]:
    return [d for f in manifest_files(folder) for d in yaml.safe_load_all(f.read_text()) if isinstance(d, dict)]


def write(folder: Path, objs: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*.yaml"):
        f.unlink()
    (folder / "all.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))


def weak_shop(folder: Path) -> Path:
    """The robust shop with the cart weakened; returns the folder of manifests."""
    write(folder, apply_patches(objects(ROBUST_SHOP), WEAKEN))
    return folder


def apply_fix(folder: Path, patch_yaml: str) -> None:
    """Apply ``chaos-agent weaknesses show ID --patch`` to the manifest files, as a user would with kustomize."""
    patches = []
    for doc in yaml.safe_load_all(patch_yaml):
        if not doc:
            continue
        meta = doc["metadata"]
        key = f"{meta.get('namespace', 'default')}/{doc['kind']}/{meta['name']}"
        new = not any(o["kind"] == doc["kind"] and o["metadata"]["name"] == meta["name"] for o in objects(folder))
        patches.append(ManifestPatch(key, doc, new=new))
    write(folder, apply_patches(objects(folder), patches))


def config(tmp: Path, manifests: Path, *, extra: str = "", strategy: str = "round_robin") -> Path:
    """A config on the twin of ``manifests``; round robin kills every workload's pods first, so a short run
    surely reproduces the single replica."""
    path = tmp / "config.toml"
    path.write_text(f"""
[cluster]
backend = "simulated"
[cluster.simulated]
manifests = "{manifests}"
seed = 3
[agent]
max_injections = 12
[policy]
strategy = "{strategy}"
[safety]
protect_last_replica = false
error_budget = 600
[audit]
path = "{tmp}/var/audit.jsonl"
[findings]
path = "{tmp}/var/findings.sqlite"
{extra}
""")
    return path
