"""Label and field selectors in the API server's query syntax (``labelSelector=``, ``fieldSelector=``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Match = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\)|(==|!=|=)\s*([^,]*))?\s*$")


def _split(expr: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _requirement(part: str) -> Match:
    m = _SET.match(part)
    if m is None:
        raise ValueError(f"unable to parse requirement: {part!r}")
    neg, key, set_op, set_vals, op, value = m.groups()
    if set_op is not None:
        values = {v.strip() for v in set_vals.split(",") if v.strip()}
        if set_op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if op is not None:
        v = value.strip()
        if op == "!=":
            return lambda labels: labels.get(key) != v
        return lambda labels: labels.get(key) == v
    if neg:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def parse_selector(expr: str | None) -> Match:
    """A matcher for a label selector string; an empty selector matches everything."""
    if not expr:
        return lambda labels: True
    reqs = [_requirement(p) for p in _split(expr)]
    return lambda labels: all(r(labels) for r in reqs)


def field_values(obj: Mapping[str, Any]) -> dict[str, str]:
    """The fields a field selector may name: every scalar reachable by a dotted path."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, bool):
            out[prefix] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[prefix] = str(value)

    walk(
        "",
        {"metadata": obj.get("metadata", {}), "spec": obj.get("spec", {}), "status": obj.get("status", {})},
    )
    out.setdefault("spec.nodeName", "")
    return out
