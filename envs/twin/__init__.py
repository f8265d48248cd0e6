"""The digital twin: an ``envs.spec.ClusterSpec`` built from real Kubernetes objects.

``load_manifests(path)`` reads YAML/JSON files; ``spec_from_objects(objects, name=...)`` takes parsed
objects (the Kubernetes backend feeds it what it lists from a live cluster). Standard Kubernetes
semantics plus the ``chaos-agent.io/`` annotation contract; docs/twin.md lists every rule and default.
"""

from envs.twin.builder import spec_from_objects
from envs.twin.loader import ManifestError, load_manifests

__all__ = ["ManifestError", "load_manifests", "spec_from_objects"]
