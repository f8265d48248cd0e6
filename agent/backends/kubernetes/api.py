"""The only module that imports the official ``kubernetes`` client: raw REST calls on its connection.

The client provides configuration (in-cluster or kubeconfig with a context), authentication and the
HTTP pool. Requests go through ``ApiClient.call_api`` and answers are parsed as plain JSON rather than
typed models: the backend reads payloads as ``kubectl get -o json`` gives them (what
``envs.twin.spec_from_objects`` takes), and the pydantic models cost about 0.1 s per 1000 small pods
on top of the transfer (measured against the test emulator: 0.22 s typed vs 0.07 s raw).
Errors become the hierarchy in ``errors.py``; transient ones are retried by ``retry.RetryPolicy``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import kubernetes.client
import kubernetes.config
import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from agent.backends.kubernetes.errors import (
    Gone,
    KubernetesApiError,
    NotFound,
    Unreachable,
    error_from_response,
)
from agent.backends.kubernetes.resources import PODS, Resource
from agent.backends.kubernetes.retry import RetryPolicy
from agent.config.cluster import KubernetesCluster
from agent.errors import BackendError

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic"]
_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError, ApiException)


@dataclass(frozen=True)
class ListResult:
    items: list[Obj]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    type: Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
    object: Obj


class WatchStream:
    """One open watch request; iterate for events, ``close()`` from any thread to end it."""

    def __init__(self, response: Any, *, method: str, path: str) -> None:
        self._response = response
        self._where = (method, path)
        self.closed = False

    def close(self) -> None:
        self.closed = True
        # not connected yet, already closed by the server, or closed before: all fine
        with contextlib.suppress(OSError, AttributeError, ValueError, RuntimeError):
            self._response.shutdown()
        self._response.release_conn()

    def __iter__(self) -> Iterator[WatchEvent]:
        method, path = self._where
        buffer = b""
        try:
            for chunk in self._response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _watch_event(json.loads(line), method=method, path=path)
        except _TRANSPORT_ERRORS as e:
            if self.closed:
                return
            raise Unreachable(f"watch connection dropped: {e}", method=method, path=path) from e
        finally:
            self._response.release_conn()


def _watch_event(raw: Obj, *, method: str, path: str) -> WatchEvent:
    if raw.get("type") == "ERROR":
        status = raw.get("object") or {}
        body = json.dumps(status).encode()
        raise error_from_response(int(status.get("code") or 500), body, {}, method=method, path=path)
    return WatchEvent(raw["type"], raw["object"])


class KubeApi:
    """Raw REST access to one cluster with retries; every method takes keyword-only options."""

    def __init__(
        self,
        client: kubernetes.client.ApiClient,
        *,
        request_timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        page_size: int = 500,
        watch_timeout_s: int = 300,
    ) -> None:
        self._client = client
        self.request_timeout_s = request_timeout_s
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.watch_timeout_s = watch_timeout_s
        self.deadline: float | None = None
        """``time.monotonic()`` by which every request of this connection must end (see ``bounded``)."""

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def connect(cls, settings: KubernetesCluster) -> KubeApi:
        """In-cluster credentials when no kubeconfig is set, else the kubeconfig and its context."""
        cfg = kubernetes.client.Configuration()
        try:
            if settings.kubeconfig is None:
                kubernetes.config.load_incluster_config(client_configuration=cfg)
            else:
                kubernetes.config.load_kube_config(
                    config_file=str(settings.kubeconfig),
                    context=settings.context,
                    client_configuration=cfg,
                    persist_config=False,
                )
        except (ConfigException, OSError) as e:
            source = (
                (f"kubeconfig {settings.kubeconfig}" + (f" context {settings.context!r}" if settings.context else ""))
                if settings.kubeconfig
                else "in-cluster"
            )
            raise BackendError(
                f"cannot load the {source} configuration: {e}. Set cluster.kubernetes.kubeconfig (and "
                "context) when the agent runs outside the cluster"
            ) from e
        return cls._from_configuration(cfg, settings)

    @classmethod
    def for_host(cls, host: str, settings: KubernetesCluster | None = None) -> KubeApi:
        """An unauthenticated connection to ``host`` (a test server on 127.0.0.1)."""
        cfg = kubernetes.client.Configuration(host=host)
        return cls._from_configuration(cfg, settings or KubernetesCluster())

    @classmethod
    def _from_configuration(cls, cfg: Any, settings: KubernetesCluster) -> KubeApi:
        cfg.retries = 0  # retries are ours (RetryPolicy), so a slow server is not silently asked 4 times
        return cls(
            kubernetes.client.ApiClient(cfg),
            request_timeout_s=settings.request_timeout_s,
            retry=RetryPolicy(attempts=settings.retry_attempts),
            page_size=settings.list_page_size,
            watch_timeout_s=settings.watch_timeout_s,
        )

    @property
    def host(self) -> str:
        return str(self._client.configuration.host)

    def close(self) -> None:
        self._client.close()

    def bounded(self, deadline: float) -> KubeApi:
        """This connection with every request, its retries and back-off ending by ``deadline``
        (``time.monotonic()``): each request's timeout is cut to the time left, and no retry starts that
        would end later. The connection pool is shared; closing the view closes nothing."""
        view = copy.copy(self)
        view.deadline = deadline
        view.retry = dataclasses.replace(self.retry, deadline=deadline)
        view.close = lambda: None  # type: ignore[method-assign]
        return view

    # ---- the transport -----------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: Any = None,
    ) -> Any:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Unreachable("the deadline passed before the request was sent", method=method, path=path)
            if not isinstance(timeout, tuple):
                timeout = min(timeout or self.request_timeout_s, left)
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        _m, url, headers, body, _post = self._client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            return self._client.call_api(
                method,
                url,
                header_params=headers,
                body=body,
                _request_timeout=timeout or self.request_timeout_s,
            )
        except _TRANSPORT_ERRORS as e:
            raise Unreachable(f"no answer from {self.host}: {type(e).__name__}: {e}", method=method, path=path) from e

    def _request_once(self, method: str, path: str, **kw: Any) -> Obj:
        response = self._send(method, path, **kw)
        try:
            data = response.read()
        except _TRANSPORT_ERRORS as e:
            raise Unreachable(f"answer cut short: {e}", method=method, path=path) from e
        if not 200 <= response.status < 300:
            raise error_from_response(response.status, data, dict(response.headers), method=method, path=path)
        try:
            return dict(json.loads(data)) if data else {}
        except ValueError as e:
            raise KubernetesApiError(
                f"answer is not JSON: {data[:200]!r}", status=response.status, method=method, path=path
            ) from e

    def request(self, method: str, path: str, **kw: Any) -> Obj:
        return self.retry.call(lambda: self._request_once(method, path, **kw))

    # ---- verbs -------------------------------------------------------------------------------
    def list_page(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Obj:
        query: list[tuple[str, Any]] = []
        for key, value in (
            ("labelSelector", label_selector),
            ("fieldSelector", field_selector),
            ("limit", limit),
            ("continue", continue_token),
        ):
            if value:
                query.append((key, value))
        return self.request("GET", res.path(namespace), query=query)

    def list(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Callable[[Obj], Obj] | None = None,
    ) -> ListResult:
        """Every item, page by page (``limit``/``continue``); a page expired mid-way restarts the list.

        ``transform`` is applied to each item as its page arrives, so only one full page is alive at a time.
        """
        for _restart in range(3):
            items: list[Obj] = []
            token: str | None = None
            try:
                while True:
                    page = self.list_page(
                        res,
                        namespace=namespace,
                        label_selector=label_selector,
                        field_selector=field_selector,
                        limit=self.page_size,
                        continue_token=token,
                    )
                    for item in page.get("items") or []:
                        item.setdefault("kind", res.kind)  # list items omit them; kubectl -o json has them
                        item.setdefault("apiVersion", res.api_version)
                        items.append(item if transform is None else transform(item))
                    meta = page.get("metadata") or {}
                    del page
                    token = meta.get("continue") or None
                    if token is None:
                        return ListResult(items, str(meta.get("resourceVersion", "")))
            except Gone:
                continue
        raise Gone(f"list of {res.plural} kept expiring between pages", status=410, path=res.path(namespace))

    def get(self, res: Resource, name: str, *, namespace: str | None = None) -> Obj:
        return self.request("GET", res.path(namespace, name))

    def create(self, res: Resource, body: Obj, *, namespace: str | None = None) -> Obj:
        return self.request("POST", res.path(namespace), body=body, content_type="application/json")

    def replace(self, res: Resource, name: str, body: Obj, *, namespace: str | None = None) -> Obj:
        return self.request("PUT", res.path(namespace, name), body=body, content_type="application/json")

    def patch(
        self,
        res: Resource,
        name: str,
        body: Obj,
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
    ) -> Obj:
        return self.request(
            "PATCH",
            res.path(namespace, name, subresource),
            body=body,
            content_type=_CONTENT_TYPES[patch_type],
        )

    def delete(
        self, res: Resource, name: str, *, namespace: str | None = None, grace_period_s: int | None = None
    ) -> Obj:
        body: Obj = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period_s is not None:
            body["gracePeriodSeconds"] = grace_period_s
        return self.request("DELETE", res.path(namespace, name), body=body, content_type="application/json")

    def evict(self, pod: str, *, namespace: str, grace_period_s: int | None = None) -> None:
        """policy/v1 Eviction; raises ``DisruptionBudgetRefused`` when a PDB forbids it."""
        body: Obj = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        }
        if grace_period_s is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace_period_s}
        self.request("POST", PODS.path(namespace, pod, "eviction"), body=body, content_type="application/json")

    def watch(
        self,
        res: Resource,
        *,
        resource_version: str,
        namespace: str | None = None,
        timeout_s: int | None = None,
    ) -> WatchStream:
        """Open a watch from ``resource_version``; a 410 comes out of the stream as ``Gone``."""
        timeout = timeout_s or self.watch_timeout_s
        path = res.path(namespace)
        query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout),
            ("allowWatchBookmarks", "false"),
        ]

        def open_stream() -> WatchStream:
            response = self._send("GET", path, query=query, timeout=(self.request_timeout_s, timeout + 10))
            if not 200 <= response.status < 300:
                raise error_from_response(
                    response.status, response.read(), dict(response.headers), method="GET", path=path
                )
            return WatchStream(response.response, method="GET", path=path)

        return self.retry.call(open_stream)

    # ---- discovery ---------------------------------------------------------------------------
    def server_version(self) -> Obj:
        return self.request("GET", "/version")

    def served_kinds(self, group_version: str) -> set[str] | None:
        """The kinds served under ``group/version``, or None when the API server does not serve it."""
        path = f"/apis/{group_version}" if "/" in group_version else f"/api/{group_version}"
        try:
            doc = self.request("GET", path)
        except NotFound:
            return None
        return {r["kind"] for r in doc.get("resources") or [] if "/" not in r.get("name", "")}
