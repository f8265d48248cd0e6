"""Cycles in the call graph (workload -> Service -> the workloads it selects), to warn about them."""

from __future__ import annotations

from collections.abc import Sequence

from envs.spec import ServiceSpec, Workload


def by_namespace(workloads: Sequence[Workload]) -> dict[str, list[Workload]]:
    """The workloads of each namespace, in their given order (a Service selects only in its own)."""
    out: dict[str, list[Workload]] = {}
    for w in workloads:
        out.setdefault(w.namespace, []).append(w)
    return out


def call_cycles(workloads: Sequence[Workload], services: Sequence[ServiceSpec]) -> list[list[str]]:
    """Each set of workloads that call one another in a loop (a strongly connected component), sorted."""
    in_namespace = by_namespace(workloads)
    by_service = {
        s.key: [w.key for w in in_namespace.get(s.namespace, ()) if s.selector.matches(w.template.label_map)]
        for s in services
    }
    edges = {
        w.key: sorted({t for c in w.calls for t in by_service.get(c.service, []) if t != w.key})
        for w in workloads
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; graphs here are small, recursion depth is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(out)
