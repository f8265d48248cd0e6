"""Why the twin cannot be built at all: unreadable input, or input beyond what it can simulate.

Everything else (a malformed object, an unknown kind) is skipped with a note; these are the only
errors, each one line naming what is wrong and what to do.
"""

from __future__ import annotations

MAX_MANIFEST_BYTES = 16 * 2**20
"""Largest input read from files. An application's manifests are kilobytes; a ``kubectl get -o yaml`` of a
busy namespace a few megabytes. Parsed YAML takes about 80 times its size in memory."""
MAX_REPLICAS = 10_000
"""Replicas of one workload (and an HPA's maxReplicas) the simulator allocates pods for."""
MAX_PODS = 150_000
"""Pods of the whole twin: Kubernetes' documented limit for one cluster."""


class ManifestError(ValueError):
    """Manifests cannot be read at all: a missing path, or a file that is not valid YAML or JSON."""


class TooLarge(ManifestError):
    """The input asks for more than the twin simulates (replicas, pods, bytes)."""
