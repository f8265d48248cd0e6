"""A Kubernetes API server emulator on aiohttp, run in a thread on 127.0.0.1 for tests.

It speaks the REST protocol the official client uses: discovery, CRUD with status subresources,
merge and strategic merge patches with resourceVersion preconditions, list paging, selectors,
watches that resume from a resourceVersion (410 Gone after compaction), the pods/eviction
subresource honouring PodDisruptionBudgets, and injectable failures (error codes with Retry-After,
slow answers, dropped watches) so the client's error handling can be tested against real HTTP.

kmock 0.8 was the starting point, but its stateful layer merges plain dicts in its request
interceptor with no resourceVersion, subresources or paging, so this server replaces rather than
extends it; the fixture API (an object with ``url``, ``objects``-like access and request records)
follows kmock's.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.emulator.chaos_mesh import ChaosMeshController
from tests.emulator.disruption import check_eviction
from tests.emulator.resources import BUILTIN, CHAOS_MESH, ResourceType, resource_list
from tests.emulator.selectors import field_values, parse_selector
from tests.emulator.store import ApiStatus, Event, Obj, ObjectStore


@dataclass
class ErrorRule:
    """An injected failure for requests whose ``METHOD path?query`` matches ``pattern``."""

    pattern: str
    status: int = 500
    times: int = 1
    retry_after: float | None = None
    delay_s: float = 0.0
    late: bool = False
    """With ``delay_s``: the request takes effect at once and only the answer is late."""
    method: str | None = None
    hits: int = 0

    def matches(self, method: str, target: str) -> bool:
        if self.times <= 0 or (self.method and self.method.upper() != method):
            return False
        return re.search(self.pattern, target) is not None


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class _Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass
class _Watch:
    rt: ResourceType
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    path: str = ""


class KubernetesEmulator:
    """The server. ``start()`` binds a free port on 127.0.0.1; ``url`` is the client's host."""

    def __init__(self, *, chaos_mesh: bool = False, history_limit: int = 10_000) -> None:
        self.store = ObjectStore(history_limit=history_limit)
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        self.chaos_mesh: ChaosMeshController | None = None
        for rt in BUILTIN:
            self._register(rt)
        if chaos_mesh:
            self.install_chaos_mesh()
        self.requests: list[RequestRecord] = []
        self.rules: list[ErrorRule] = []
        self._watches: list[_Watch] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ---- set-up for tests --------------------------------------------------------------------
    def _register(self, rt: ResourceType) -> None:
        self.types[(rt.group, rt.version, rt.plural)] = rt
        self.store.register(rt)

    def install_chaos_mesh(self) -> ChaosMeshController:
        """Serve the Chaos Mesh CRDs and run a stand-in of its controller (as after ``helm install
        chaos-mesh``); returns the controller, whose switches a test may turn."""
        for rt in CHAOS_MESH:
            self._register(rt)
        if self.chaos_mesh is None:
            self.chaos_mesh = ChaosMeshController(self.store, CHAOS_MESH, self.type_of("Pod"))
        return self.chaos_mesh

    def type_of(self, kind: str, api_version: str | None = None) -> ResourceType:
        for rt in self.types.values():
            if rt.kind == kind and (api_version is None or rt.group_version == api_version):
                return rt
        raise KeyError(f"the emulator does not serve kind {kind}")

    def put(self, obj: Obj) -> Obj:
        """Store an object as a controller would have made it (status included)."""
        rt = self.type_of(obj["kind"], obj.get("apiVersion"))
        ns = obj.get("metadata", {}).get("namespace", "default") if rt.namespaced else ""
        return self.store.create(rt, ns, obj, keep_status=True)

    def get(self, kind: str, name: str, namespace: str = "") -> Obj:
        return self.store.get(self.type_of(kind), namespace, name)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None) -> list[Obj]:
        return self.store.select(self.type_of(kind), namespace, label_selector)

    def fail(
        self,
        pattern: str,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: float | None = None,
        delay_s: float = 0.0,
        late: bool = False,
        method: str | None = None,
    ) -> ErrorRule:
        """Inject ``times`` failures (or, with ``delay_s``, slow answers) for matching requests."""
        rule = ErrorRule(pattern, status, times, retry_after, delay_s, late=late, method=method)
        self.rules.append(rule)
        return rule

    def drop_watches(self, pattern: str = "") -> int:
        """Cut the connection of every open watch whose path matches; returns how many."""
        assert self._loop is not None
        hit = [w for w in self._watches if re.search(pattern, w.path)]
        for w in hit:
            self._loop.call_soon_threadsafe(w.dropped.set)
        return len(hit)

    def open_watches(self) -> int:
        return len(self._watches)

    # ---- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KubernetesEmulator:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="k8s-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the emulator did not start within 10 s")
        return self

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        for w in list(self._watches):
            self._loop.call_soon_threadsafe(w.dropped.set)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # ---- HTTP --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return _status(ApiStatus(400, "BadRequest", "the request body is not JSON"))
        query = dict(request.query)
        self.requests.append(RequestRecord(request.method, request.path, query, body))
        target = f"{request.method} {request.path_qs}"
        late = 0.0
        for rule in self.rules:
            if rule.matches(request.method, target):
                rule.times -= 1
                rule.hits += 1
                if rule.delay_s and rule.late:
                    late = rule.delay_s
                    break
                if rule.delay_s:
                    await asyncio.sleep(rule.delay_s)
                    break
                headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
                reason = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(rule.status, "InternalError")
                return _status(ApiStatus(rule.status, reason, f"injected failure {rule.status}", headers=headers))
        try:
            response = await self._dispatch(request, query, body)
        except ApiStatus as e:
            response = _status(e)
        if late:
            await asyncio.sleep(late)
        return response

    async def _dispatch(self, request: web.Request, query: dict[str, str], body: Any) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        disc = self._discovery(path)
        if disc is not None:
            return web.json_response(disc)
        route = self._route(path)
        method = request.method
        if method == "GET" and route.name is None:
            if query.get("watch") in ("true", "1"):
                return await self._watch(request, route, query)
            return web.json_response(self._list(route, query))
        if route.subresource == "eviction":
            return self._evict(route, body)
        ns = route.namespace or ""
        if method == "GET":
            return web.json_response(self.store.get(route.rt, ns, route.name or ""))
        if method == "POST" and route.name is None:
            return self._create(route, body)
        if route.name is None:
            raise ApiStatus(405, "MethodNotAllowed", f"{method} is not allowed on a collection here")
        if route.subresource not in (None, "status"):
            raise ApiStatus(404, "NotFound", f"the subresource {route.subresource} is not served")
        if method == "PUT":
            return web.json_response(self.store.replace(route.rt, ns, route.name, body, subresource=route.subresource))
        if method == "PATCH":
            ctype = request.content_type
            strategic = ctype == "application/strategic-merge-patch+json"
            if strategic and route.rt in CHAOS_MESH:
                raise ApiStatus(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json",
                )
            if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                raise ApiStatus(415, "UnsupportedMediaType", f"the emulator does not apply {ctype} patches")
            return web.json_response(
                self.store.patch(route.rt, ns, route.name, body, strategic=strategic, subresource=route.subresource)
            )
        if method == "DELETE":
            return web.json_response(self.store.delete(route.rt, ns, route.name))
        raise ApiStatus(405, "MethodNotAllowed", f"{method} is not allowed")

    def _discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.0-emulator",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23.4",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        groups: dict[str, list[str]] = {}
        for g, v, _ in self.types:
            if g and v not in groups.setdefault(g, []):
                groups[g].append(v)
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [_group(g, vs) for g, vs in sorted(groups.items())],
            }
        m = re.fullmatch(r"/api/(v1)|/apis/([^/]+)(?:/([^/]+))?", path)
        if m is None:
            return None
        if m.group(1):
            return resource_list("v1", [t for t in self.types.values() if t.group == ""])
        g, v = m.group(2), m.group(3)
        if g not in groups or (v is not None and v not in groups[g]):
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        if v is None:
            return {**_group(g, groups[g]), "kind": "APIGroup", "apiVersion": "v1"}
        return resource_list(f"{g}/{v}", [t for t in self.types.values() if (t.group, t.version) == (g, v)])

    def _route(self, path: str) -> _Route:
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        rt = self.types.get((group, version, rest[0]))
        if rt is None or (namespace is not None and not rt.namespaced) or len(rest) > 3:
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        return _Route(rt, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)

    def _list(self, route: _Route, query: dict[str, str]) -> dict[str, Any]:
        limit = int(query["limit"]) if query.get("limit") else None
        page = self.store.list_page(
            route.rt,
            route.namespace,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
            limit=limit,
            continue_token=query.get("continue"),
        )
        meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            meta.update({"continue": page.continue_token, "remainingItemCount": page.remaining})
        return {
            "kind": f"{route.rt.kind}List",
            "apiVersion": route.rt.group_version,
            "metadata": meta,
            "items": page.items,
        }

    def _create(self, route: _Route, body: Any) -> web.Response:
        if not isinstance(body, dict):
            raise ApiStatus(400, "BadRequest", "the body must be an object")
        body_ns = (body.get("metadata") or {}).get("namespace")
        if route.rt.namespaced:
            if route.namespace is None:
                raise ApiStatus(405, "MethodNotAllowed", "create a namespaced object under its namespace")
            if body_ns and body_ns != route.namespace:
                raise ApiStatus(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
        return web.json_response(self.store.create(route.rt, route.namespace or "", body), status=201)

    def _evict(self, route: _Route, body: Any) -> web.Response:
        if route.rt.plural != "pods" or route.namespace is None or route.name is None:
            raise ApiStatus(404, "NotFound", "eviction is a subresource of a pod")
        if not isinstance(body, dict) or body.get("kind") != "Eviction":
            raise ApiStatus(400, "BadRequest", "the body must be a policy/v1 Eviction")
        pod = self.store.get(route.rt, route.namespace, route.name)
        pdbs = self.store.select(self.type_of("PodDisruptionBudget"), route.namespace)
        pods = self.store.select(route.rt, route.namespace)
        check_eviction(pod, pdbs, pods, self._scale_of)
        self.store.delete(route.rt, route.namespace, route.name)
        return web.json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
            status=201,
        )

    def _scale_of(self, namespace: str, ref: dict[str, Any]) -> int | None:
        """Desired replicas of a pod's controller, as the disruption controller reads its scale."""
        try:
            owner = self.get(ref["kind"], ref["name"], namespace)
        except (KeyError, ApiStatus):
            return None
        spec = owner.get("spec") or {}
        return int(spec.get("replicas", spec.get("parallelism", 1)))

    async def _watch(self, request: web.Request, route: _Route, query: dict[str, str]) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.store.subscribe(lambda e: loop.call_soon_threadsafe(queue.put_nowait, e))
        watch = _Watch(route.rt, path=request.path)
        self._watches.append(watch)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            rv_param = query.get("resourceVersion") or "0"
            try:
                if rv_param == "0":
                    sent_rv = self.store.resource_version
                    initial = [
                        (sent_rv, route.rt, "ADDED", o)
                        for o in self.store.select(
                            route.rt, route.namespace, query.get("labelSelector"), query.get("fieldSelector")
                        )
                    ]
                else:
                    sent_rv = int(rv_param)
                    initial = self.store.history_since(sent_rv, route.rt)
            except ApiStatus as e:
                await response.write(json.dumps({"type": "ERROR", "object": e.body()}).encode() + b"\n")
                return response
            for event in initial:
                await self._send(response, route, query, event)
            last = max([sent_rv, *(e[0] for e in initial)])
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
            deadline = loop.time() + timeout if timeout else None
            while True:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                if remaining == 0.0:
                    return response
                get = asyncio.ensure_future(queue.get())
                drop = asyncio.ensure_future(watch.dropped.wait())
                done, _ = await asyncio.wait({get, drop}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
                for fut in (get, drop):
                    if fut not in done:
                        fut.cancel()
                if drop in done:
                    if request.transport is not None:
                        request.transport.close()  # a cut connection, not a clean end of stream
                    return response
                if get in done:
                    event = get.result()
                    if event[0] > last and event[1].key == route.rt.key:
                        await self._send(response, route, query, event)
                        last = event[0]
        finally:
            unsubscribe()
            self._watches.remove(watch)

    async def _send(self, response: web.StreamResponse, route: _Route, query: dict[str, str], event: Event) -> None:
        _rv, _rt, kind, obj = event
        if route.namespace is not None and obj["metadata"].get("namespace") != route.namespace:
            return
        selected = parse_selector(query.get("labelSelector"))(obj["metadata"].get("labels") or {}) and (
            parse_selector(query.get("fieldSelector"))(field_values(obj))
        )
        if not selected:
            return
        await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def _status(e: ApiStatus) -> web.Response:
    return web.json_response(e.body(), status=e.code, headers=e.headers)
