"""Per-topology memoisation: facts computed once per ``ClusterSpec`` object.

Specs are frozen but large, so hashing one on every call would cost more than the facts; the cache is
keyed by object identity (and keeps the spec alive so an id cannot be reused while cached).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from envs.spec import ClusterSpec

T = TypeVar("T")
MAX_SPECS = 64


def per_spec(compute: Callable[[ClusterSpec], T]) -> Callable[[ClusterSpec], T]:
    cache: dict[int, tuple[ClusterSpec, T]] = {}

    def cached(spec: ClusterSpec) -> T:
        hit = cache.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1]
        if len(cache) >= MAX_SPECS:
            cache.clear()
        value = compute(spec)
        cache[id(spec)] = (spec, value)
        return value

    cached.__doc__ = compute.__doc__
    return cached
