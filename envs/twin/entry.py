"""Who sends an entry point its requests and how that client retries, from the Ingress and Gateway API
objects that route to it.

- An Ingress served by ingress-nginx (class name or IngressClass controller mentioning nginx, or no class
  at all, the common default) retries another endpoint when connecting fails or times out: nginx's
  ``proxy_next_upstream error timeout``, at most ``proxy-next-upstream-tries`` (3) tries, each failed
  connection costing up to ``proxy-connect-timeout`` (5 s; whole seconds). The Ingress annotations
  ``nginx.ingress.kubernetes.io/proxy-next-upstream`` (``off``, or a list that may add ``http_502`` ...),
  ``-proxy-next-upstream-tries`` and ``-proxy-connect-timeout`` change them. Another controller's retry
  behaviour is not known: no retry, with a note.
- An HTTPRoute (``gateway.networking.k8s.io``) retries as its rule's ``retry`` says (``attempts`` more
  tries; ``codes`` makes answered errors retried too). Without it, a Gateway of Istio (GatewayClass
  controller ``istio.io/...``) keeps Istio's default: 2 retries on connection failures and 503; any other
  implementation is assumed not to retry.
- A LoadBalancer or NodePort Service with nothing in front: the user's own client, no retry.

``chaos-agent.io/entry-client`` on the Service overrides any field:
``{"name": "...", "tries": 3, "connect_timeout_ms": 5000, "retry_on_error": false}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from envs.spec import EntryClient
from envs.twin.annotations import ENTRY_CLIENT, AnnotationReader
from envs.twin.catalog import Catalog
from envs.twin.fields import Fields, Malformed
from envs.twin.notes import Notes
from envs.twin.services import ingress_backends

NGINX = "nginx.ingress.kubernetes.io/"
NGINX_TRIES = 3
"""ingress-nginx's proxy-next-upstream-tries default."""
NGINX_CONNECT_TIMEOUT_S = 5.0
"""ingress-nginx's proxy-connect-timeout default."""
ISTIO_RETRIES = 2
"""Istio's default retry policy: 2 attempts on connect-failure, refused-stream, unavailable, 503."""


@dataclass(frozen=True)
class Route:
    """One way requests reach a Service from outside."""

    service: tuple[str, str]
    client: EntryClient
    source: str
    origin: str
    """The routing object: ``Ingress ns/name`` or ``HTTPRoute ns/name``."""


def _nginx_client(name: str, annotations: Mapping[str, str], notes: Notes, where: str) -> EntryClient:
    tries, timeout_s, on_error = NGINX_TRIES, NGINX_CONNECT_TIMEOUT_S, False
    upstream = annotations.get(NGINX + "proxy-next-upstream")
    if upstream is not None:
        words = upstream.split()
        if "off" in words:
            tries = 1
        on_error = any(w.startswith("http_5") for w in words)
    for key in ("proxy-next-upstream-tries", "proxy-connect-timeout"):  # whole numbers (ingress-nginx's parser)
        text = annotations.get(NGINX + key)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            notes.add(f"{where}: {NGINX}{key}={text!r} is not a whole number, which ingress-nginx ignores; its "
                      "default is used")
            continue
        if key == "proxy-next-upstream-tries":
            tries = tries if tries == 1 else (value if value > 0 else NGINX_TRIES)
        elif value > 0:
            timeout_s = float(value)
    return EntryClient(name, tries, timeout_s * 1000.0, on_error)


def _ingress_class(data: Mapping[str, object], classes: Mapping[str, str]) -> str:
    """The controller serving an Ingress: its IngressClass's controller, else the class name ('' if none)."""
    fields = Fields.of(data, "")
    name = fields.sub("spec").text("ingressClassName") or fields.sub("metadata").string_map("annotations").get(
        "kubernetes.io/ingress.class", "")
    return classes.get(name, name)


def entry_routes(cat: Catalog, notes: Notes) -> list[Route]:
    """Every Service reached from outside through an Ingress or an HTTPRoute, with its client."""
    classes = {e.oid.name: Fields.of(e.data, "").sub("spec").text("controller") for e in cat.of("IngressClass")}
    gateway_classes = {e.oid.name: Fields.of(e.data, "").sub("spec").text("controllerName")
                       for e in cat.of("GatewayClass")}
    gateways = {(e.oid.namespace, e.oid.name): gateway_classes.get(
        Fields.of(e.data, "").sub("spec").text("gatewayClassName"), "") for e in cat.of("Gateway")}
    routes: list[Route] = []
    for entry in cat.of("Ingress"):
        try:
            backends = ingress_backends(entry.oid, entry.data)
            annotations = Fields.of(entry.data, "").sub("metadata").string_map("annotations")
            controller = _ingress_class(entry.data, classes)
        except Malformed as e:
            notes.skipped(entry.where, str(e))
            continue
        if not controller or "nginx" in controller.lower():
            client = _nginx_client(f"ingress-nginx ({entry.oid.describe()})", annotations, notes, entry.oid.describe())
            how = (f"{entry.oid.describe()} (ingress-nginx): retries another endpoint on connection errors and "
                   f"timeouts, {client.tries} tries, {client.connect_timeout_ms / 1000:g} s connect timeout")
        else:
            client = EntryClient(f"{controller} ({entry.oid.describe()})")
            how = f"{entry.oid.describe()} ({controller}): its retries are not known to the twin; assumed none"
            notes.add(f"{how} (set {ENTRY_CLIENT} on the Service to say)")
        routes.extend(Route(ref, client, how, entry.oid.describe()) for ref in backends)
    for entry in cat.of("HTTPRoute"):
        try:
            routes.extend(_http_route(entry.oid.namespace, entry.oid.describe(), entry.data, gateways))
        except Malformed as e:
            notes.skipped(entry.where, str(e))
    return routes


def _http_route(namespace: str, describe: str, data: Mapping[str, object],
                gateways: Mapping[tuple[str, str], str]) -> list[Route]:
    spec = Fields.of(data, "").sub("spec")
    controllers = [gateways.get((p.text("namespace", namespace), p.text("name")), "") for p in spec.subs("parentRefs")]
    istio = any("istio" in c for c in controllers)
    out = []
    for rule in spec.subs("rules"):
        retry = rule.sub("retry")
        if retry.data:
            attempts = retry.integer("attempts", 0)
            client = EntryClient(f"gateway ({describe})", attempts + 1, EntryClient().connect_timeout_ms,
                                 bool(retry.raw("codes")))
            how = f"{describe}: retry attempts {attempts}" + (" on codes too" if client.retry_on_error else "")
        elif istio:
            client = EntryClient(f"istio gateway ({describe})", ISTIO_RETRIES + 1, EntryClient().connect_timeout_ms,
                                 True)
            how = f"{describe} (Istio): Istio's default retries, 2 on connection failures and 503"
        else:
            client = EntryClient(f"gateway ({describe})")
            how = f"{describe}: no retry policy; assumed none"
        for ref in rule.subs("backendRefs"):
            if ref.text("kind", "Service") == "Service" and ref.text("group", "") == "":
                out.append(Route((ref.text("namespace", namespace), ref.text("name")), client, how, describe))
    return out


def client_override(reader: AnnotationReader, client: EntryClient) -> EntryClient:
    """``chaos-agent.io/entry-client`` applied over the client the routes gave."""
    text = reader.values.get(ENTRY_CLIENT)
    if text is None:
        return client
    allowed = 'a JSON object: {"name": str, "tries": >=1, "connect_timeout_ms": >0, "retry_on_error": bool}'
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, dict):
        reader.bad(ENTRY_CLIENT, text, allowed)
        return client
    changes: dict[str, object] = {}
    checks = {"name": lambda v: isinstance(v, str) and v,
              "tries": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
              "connect_timeout_ms": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0,
              "retry_on_error": lambda v: isinstance(v, bool)}
    for key, value in raw.items():
        if key in checks and checks[key](value):
            changes[key] = float(value) if key == "connect_timeout_ms" else value
        else:
            reader.bad(ENTRY_CLIENT, f"{key}={value!r}", allowed)
    return replace(client, **changes)  # type: ignore[arg-type]


def client_annotation(client: EntryClient) -> str:
    """The ``chaos-agent.io/entry-client`` value that states ``client``."""
    return json.dumps({"name": client.name, "tries": client.tries, "connect_timeout_ms": client.connect_timeout_ms,
                       "retry_on_error": client.retry_on_error}, sort_keys=True)
