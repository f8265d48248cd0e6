"""The digital twin: an ``envs.spec.ClusterSpec`` built from real Kubernetes objects.

``load_manifests(path)`` reads YAML/JSON files; ``spec_from_objects(objects, name=...)`` takes parsed
objects (the Kubernetes backend feeds it what it lists from a live cluster). Standard Kubernetes
semantics plus the ``chaos-agent.io/`` annotation contract; docs/twin.md lists every rule and default.
"""

from envs.twin.builder import build_spec, skipped_objects, spec_from_objects
from envs.twin.errors import ManifestError, TooLarge
from envs.twin.loader import load_manifests, read_manifests
from envs.twin.objects import SourcedObject
from envs.twin.telemetry import ObservedCall

__all__ = ["ManifestError", "ObservedCall", "SourcedObject", "TooLarge", "build_spec", "load_manifests",
           "read_manifests", "skipped_objects", "spec_from_objects"]
