"""Service addresses in env var values and annotations, resolved to the Services in the input.

A value names a Service when one of its hosts does: ``svc``, ``svc:port``, ``svc.ns``, ``svc.ns.svc``,
``svc.ns.svc.cluster.local`` (any cluster domain), a StatefulSet pod address ``pod.svc[.ns[.svc...]]``,
or any of these as the host of a URL (``http://cartservice:7070/x``, ``redis://:pw@redis-cart:6379``,
``jdbc:postgresql://db:5432/app``); comma-separated host lists count host by host. Bare names resolve
in the caller's namespace. Only Services present in the input count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_PORT = re.compile(r"^\d{1,5}$")


def hosts_in(value: str) -> list[str]:
    """The host names a value mentions, in order (lower-cased; ports, paths and credentials cut)."""
    hosts: list[str] = []
    text = re.sub(r"\s*,\s*", ",", value.strip())
    if "://" in text:
        text = text.split("://", 1)[1]
        text = re.split(r"[/?#]", text, maxsplit=1)[0]
        text = text.rsplit("@", 1)[-1]
    elif any(ch.isspace() for ch in text):
        return []
    for token in text.split(","):
        token = token.strip()
        host, sep, port = token.rpartition(":")
        if not sep:
            host = token
        elif not _PORT.match(port):
            continue
        host = host.lower()
        if _HOST.match(host):
            hosts.append(host)
    return hosts


def _candidates(host: str, namespace: str) -> list[tuple[str, str]]:
    """(namespace, service) readings of a host, most specific first."""
    parts = host.split(".")
    if "svc" in parts[1:]:
        parts = parts[: parts.index("svc", 1)]
        if len(parts) == 2:
            return [(parts[1], parts[0])]
        if len(parts) == 3:  # pod.service.namespace.svc...
            return [(parts[2], parts[1])]
        return []
    if len(parts) == 1:
        return [(namespace, parts[0])]
    if len(parts) == 2:  # service.namespace, or pod.service of a headless Service
        return [(parts[1], parts[0]), (namespace, parts[1])]
    if len(parts) == 3:  # pod.service.namespace
        return [(parts[2], parts[1])]
    return []


def _known(services: Iterable[tuple[str, str]]) -> Set[tuple[str, str]] | Mapping[tuple[str, str], object]:
    """``services`` as something ``in`` answers in O(1); a set or a mapping (as the builder passes) as is,
    so resolving one value does not copy every Service of a big cluster."""
    return services if isinstance(services, (Set, Mapping)) else set(services)


def resolve_host(host: str, namespace: str, services: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The (namespace, name) of the Service ``host`` reaches from ``namespace``, if it is known."""
    known = _known(services)
    for candidate in _candidates(host, namespace):
        if candidate in known:
            return candidate
    return None


def resolve_value(value: str, namespace: str, services: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    known = _known(services)
    found: list[tuple[str, str]] = []
    for host in hosts_in(value):
        hit = resolve_host(host, namespace, known)
        if hit is not None and hit not in found:
            found.append(hit)
    return found
