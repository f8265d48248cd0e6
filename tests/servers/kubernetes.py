"""A real Kubernetes 1.37 control plane for the tests: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and hollow nodes (kubemark's hollow kubelets), as built by scripts/build-control-plane.

Use the session fixture ``control_plane``. It starts, on 127.0.0.1 with free ports and in a temporary
folder: etcd; the API server with generated certificates, a service-account signing key,
``--authorization-mode=Node,RBAC`` and the default admission plugins plus NodeRestriction; the
controller manager (service-account tokens, node lifecycle, disruption, every default controller) and
the scheduler; and one ``kubemark --morph=kubelet`` process per node, so stopping one is a node
failure. Chaos Mesh's CustomResourceDefinitions (from its Go module) are installed. Every wait polls.

Hollow kubelets run pods without containers; their fake runtime gives every pod the address
192.168.192.168. An admission policy refuses pods with network probes or hooks, so that no kubelet here
ever dials an address off the loopback (see ``_NO_NETWORK_PROBES``).

Without the binaries the tests skip with the build command, except under CI=true, where that fails.
The settings that differ from a default cluster, all for test speed, are in ``TIMING`` and are
documented in docs/development.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.servers.kubernetes_api import ApiStatus, Credentials, Obj, RestClient, wait_until
from tests.servers.kubernetes_pki import KeyPair, Pki
from tests.servers.kubernetes_processes import Component, free_port, running_check

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "scripts" / "build-control-plane"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubemark", "kubectl", "helm")
GPU = "nvidia.com/gpu"
SERVICE_CIDR = "10.96.0.0/16"  # only ever data: no proxy runs, nothing dials a Service address
ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDITED_GROUP = "system:serviceaccounts:chaos-agent"
"""The API server's audit log records every request of the ServiceAccounts in the agent's namespace
(at Metadata level: who, verb, resource, namespace, name, response code), and nothing else."""

TIMING = {
    # kube-controller-manager: how often node health is checked (default 5 s), and how long a node may
    # miss heartbeats before it is NotReady (default 50 s). A hollow kubelet renews its Lease every
    # 10 s (leaseDurationSeconds 40, hard-coded in kubemark), so 20 s is two missed renewals.
    "--node-monitor-period": "1s",
    "--node-monitor-grace-period": "20s",
    # kube-apiserver's DefaultTolerationSeconds: how long a pod stays on a NotReady or unreachable node
    # before the taint manager evicts it (default 300 s).
    "--default-not-ready-toleration-seconds": "10",
    "--default-unreachable-toleration-seconds": "10",
}


@dataclass(frozen=True)
class NodeSpec:
    """A hollow node: its name, labels and extended resources (1 CPU and ~3.75 GiB, kubemark's fake)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 0
    taints: tuple[str, ...] = ()
    """``key=value:Effect``, registered by the kubelet (``--register-with-taints``)."""


POOL = "chaos-agent-test/pool"
DEFAULT_NODES = (
    NodeSpec("node-a", {"topology.kubernetes.io/zone": "zone-a", POOL: "shop"}),
    NodeSpec("node-b", {"topology.kubernetes.io/zone": "zone-b", POOL: "shop"}),
    NodeSpec("node-c", {"topology.kubernetes.io/zone": "zone-c", POOL: "pipelines"}),
    # tainted as GPU node pools are, so that only pods that tolerate it (and want GPUs) land there
    NodeSpec("gpu-a", {"topology.kubernetes.io/zone": "zone-a", POOL: "gpu", "nvidia.com/gpu.present": "true"},
             gpus=4, taints=("nvidia.com/gpu=present:NoSchedule",)),
    NodeSpec("gpu-b", {"topology.kubernetes.io/zone": "zone-b", POOL: "training", "nvidia.com/gpu.present": "true"},
             gpus=4, taints=("nvidia.com/gpu=present:NoSchedule",)),
)


def _probe_free(containers: str) -> str:
    handlers = " && ".join(
        f"(!has(c.{p}) || (!has(c.{p}.httpGet) && !has(c.{p}.tcpSocket) && !has(c.{p}.grpc)))"
        for p in ("livenessProbe", "readinessProbe", "startupProbe"))
    hooks = " && ".join(
        f"(!has(c.lifecycle) || !has(c.lifecycle.{h}) || "
        f"(!has(c.lifecycle.{h}.httpGet) && !has(c.lifecycle.{h}.tcpSocket)))" for h in ("postStart", "preStop"))
    return f"{containers}.all(c, {handlers} && {hooks})"


_NO_NETWORK_PROBES = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "test-plane-no-network-probes"},
    "spec": {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{
            "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
        "validations": [{
            "expression": _probe_free("object.spec.containers") + " && "
            + _probe_free("(has(object.spec.initContainers) ? object.spec.initContainers : [])"),
            "message": "the test control plane's hollow kubelets give every pod 192.168.192.168: an httpGet, "
                       "tcpSocket or grpc probe or hook would dial it; use exec probes or none",
        }],
    },
}
_NO_NETWORK_PROBES_BINDING = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "test-plane-no-network-probes"},
    "spec": {"policyName": "test-plane-no-network-probes", "validationActions": ["Deny"]},
}


class ControlPlaneMissing(RuntimeError):
    pass


def control_plane_bin() -> Path:
    """The built binaries' folder; ``ControlPlaneMissing`` with the build command when absent."""
    if shutil.which("go") is None:  # the cache is keyed by Go's version, among others
        raise ControlPlaneMissing("go is not installed: the test control plane is built from Go modules (Go >= 1.26)")
    done = subprocess.run([str(BUILD), "--where"], capture_output=True, text=True, timeout=60, check=False)
    where = done.stdout.strip().splitlines()[-1:] if done.stdout.strip() else []
    if done.returncode != 0 or not where:
        raise ControlPlaneMissing(
            "the test control plane is not built: run scripts/build-control-plane (15 to 60 min cold on 2 cores; "
            f"scripts/bootstrap dev does it) {done.stderr.strip()[-300:]}")
    return Path(where[0])


def require_control_plane() -> Path:
    """The bin folder; a skip (or, under CI=true, a failure) with the build command when not built."""
    try:
        return control_plane_bin()
    except ControlPlaneMissing as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{e} (CI=true: the control plane is required)")
        pytest.skip(str(e))


def kubeconfig_text(url: str, ca: Path, *, user: str, cert: KeyPair | None = None, token: str | None = None) -> str:
    credentials: dict[str, str] = {"token": token} if token else {
        "client-certificate": str(cert.cert), "client-key": str(cert.key)} if cert else {}
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
    }, indent=1)


class ControlPlane:
    """The running control plane. ``admin`` is a cluster-admin REST client; ``nodes`` the hollow nodes."""

    def __init__(self, folder: Path, bin_dir: Path, nodes: Sequence[NodeSpec] = DEFAULT_NODES) -> None:
        self.folder, self.bin = folder, bin_dir
        self.crd_dir = bin_dir.parent / "crds"
        self.node_specs = {n.name: n for n in nodes}
        self.pki = Pki(folder / "pki")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.components: dict[str, Component] = {}
        self.nodes: dict[str, Component] = {}
        self.metrics_ports: dict[str, int] = {}
        self.started_s: dict[str, float] = {}
        admin = self.pki.client("admin", "chaos-agent-test-admin", ("system:masters",))
        self.admin_kubeconfig = self._kubeconfig("admin", user="admin", cert=admin)
        self.admin = RestClient(self.url, Credentials(ca=self.pki.ca.cert, cert=admin.cert, key=admin.key))

    # ---- start-up --------------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        t0 = time.monotonic()
        self._start_etcd()
        self._start_apiserver()
        self.started_s["apiserver"] = time.monotonic() - t0
        self._install_guard()
        self.install_chaos_mesh_crds()
        self._start_controller_manager()
        self._start_scheduler()
        for spec in self.node_specs.values():
            self._start_node(spec)
        self._wait_ready()
        self.started_s["total"] = time.monotonic() - t0
        return self

    def _component(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> Component:
        component = Component(name, args, self.folder / f"{name}.log", env=env, cwd=self.folder)
        self.components[name] = component
        return component.start()

    def _kubeconfig(self, name: str, *, user: str, cert: KeyPair | None = None, token: str | None = None) -> Path:
        path = self.folder / f"{name}.kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_text(self.url, self.pki.ca.cert, user=user, cert=cert, token=token))
        return path

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = self._component("etcd", [
            str(self.bin / "etcd"), "--name=test-plane", f"--data-dir={self.folder / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=test-plane=http://127.0.0.1:{peer}",
            # a test cluster's data dies with the session: no fsync on a disk shared by the build and tests
            "--unsafe-no-fsync", "--log-level=warn"])
        import urllib.request

        def healthy() -> bool:
            etcd.check_running()
            try:
                with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as r:
                    return bool(json.loads(r.read()).get("health") == "true")
            except OSError:
                return False

        wait_until(healthy, timeout_s=60, what="etcd /health", interval_s=0.1, detail=lambda: etcd.log_tail())

    def _start_apiserver(self) -> None:
        serving = self.pki.serving("apiserver", ["127.0.0.1", "10.96.0.1"],
                                   ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"])
        sa = self.pki.service_account_key()
        self.service_account_key = sa
        self.audit_log = self.folder / "audit.jsonl"
        policy = self.folder / "audit-policy.json"
        policy.write_text(json.dumps({
            "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
            "rules": [{"level": "Metadata", "userGroups": [AUDITED_GROUP]}, {"level": "None"}]}))
        apiserver = self._component("kube-apiserver", [
            str(self.bin / "kube-apiserver"), f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", f"--secure-port={self.port}", "--advertise-address=127.0.0.1",
            f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={self.pki.ca.cert}",
            f"--service-account-issuer={ISSUER}", f"--service-account-key-file={sa.cert}",
            f"--service-account-signing-key-file={sa.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # the default plugins (NamespaceLifecycle, LimitRanger, ServiceAccount, DefaultTolerationSeconds,
            # PodSecurity, Priority, ResourceQuota, the webhooks and admission policies, ...) plus the one
            # every production cluster adds for its kubelets
            "--enable-admission-plugins=NodeRestriction",
            # the "kubernetes" Service's endpoints would be 127.0.0.1, which Endpoints may not hold
            "--endpoint-reconciler-type=none",
            f"--default-not-ready-toleration-seconds={TIMING['--default-not-ready-toleration-seconds']}",
            f"--default-unreachable-toleration-seconds={TIMING['--default-unreachable-toleration-seconds']}",
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}", "--audit-log-format=json",
            "--audit-log-mode=blocking", "--audit-log-maxsize=0",
            "--profiling=false", "--v=1"])
        wait_until(lambda: apiserver.check_running() or self.admin.text("/readyz") == "ok", timeout_s=120,
                   what="kube-apiserver /readyz", interval_s=0.2, detail=lambda: apiserver.log_tail())
        self.metrics_ports["kube-apiserver"] = self.port

    def _install_guard(self) -> None:
        group = "/apis/admissionregistration.k8s.io/v1"
        self.admin.create(f"{group}/validatingadmissionpolicies", _NO_NETWORK_PROBES)
        self.admin.create(f"{group}/validatingadmissionpolicybindings", _NO_NETWORK_PROBES_BINDING)
        try:  # the ServiceAccount admission plugin looks it up before any policy runs
            self.admin.create("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
        except ApiStatus as e:
            if e.code != 409:  # made by the ServiceAccount controller meanwhile
                raise
        probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "guard-check", "namespace": "default"},
                 "spec": {"containers": [{"name": "c", "image": "x", "readinessProbe": {
                     "httpGet": {"port": 80}}}]}}

        def refused() -> bool:
            try:
                self.admin.request("POST", "/api/v1/namespaces/default/pods", probe, query={"dryRun": "All"})
            except ApiStatus as e:
                return e.code in (403, 422) and "192.168.192.168" in str(e.body)
            return False

        wait_until(refused, timeout_s=30, what="the no-network-probes admission policy to take effect")

    def install_chaos_mesh_crds(self) -> list[str]:
        """Chaos Mesh's own CRDs (unmodified, from its Go module); returns their names once Established."""
        names = []
        for path in sorted(self.crd_dir.glob("chaos-mesh.org_*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                if not crd:
                    continue
                self.admin.apply(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}",
                                 crd)
                names.append(crd["metadata"]["name"])
        if not names:
            raise RuntimeError(f"no Chaos Mesh CRDs in {self.crd_dir}: rerun scripts/build-control-plane")

        def established(name: str) -> bool:
            crd = self.admin.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (crd.get("status") or {}).get("conditions") or [])

        for name in names:
            wait_until(lambda n=name: established(n), timeout_s=30, what=f"CRD {name} to be Established")
        return names

    def _common_flags(self, name: str, user: str) -> tuple[list[str], int]:
        cert = self.pki.client(name, user)
        kubeconfig = self._kubeconfig(name, user=user, cert=cert)
        port = free_port()
        self.metrics_ports[name] = port
        return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", f"--secure-port={port}",
                f"--cert-dir={self.folder / name}", "--leader-elect=false", "--v=1"], port

    def _start_controller_manager(self) -> None:
        flags, _port = self._common_flags("kube-controller-manager", "system:kube-controller-manager")
        self._component("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"), *flags,
            f"--service-account-private-key-file={self.service_account_key.key}",
            f"--root-ca-file={self.pki.ca.cert}", "--use-service-account-credentials=true",
            f"--node-monitor-period={TIMING['--node-monitor-period']}",
            f"--node-monitor-grace-period={TIMING['--node-monitor-grace-period']}"])

    def _start_scheduler(self) -> None:
        flags, _port = self._common_flags("kube-scheduler", "system:kube-scheduler")
        self._component("kube-scheduler", [str(self.bin / "kube-scheduler"), *flags])

    def _start_node(self, spec: NodeSpec) -> Component:
        folder = self.folder / "nodes" / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        cert = self.pki.client(f"node-{spec.name}", f"system:node:{spec.name}", ("system:nodes",))
        kubeconfig = self._kubeconfig(f"nodes/{spec.name}/kubelet", user=f"system:node:{spec.name}", cert=cert)
        args = [str(self.bin / "kubemark"), "--morph=kubelet", f"--name={spec.name}", f"--kubeconfig={kubeconfig}",
                f"--kubelet-port={free_port()}", "--kubelet-read-only-port=0", "--use-host-image-service=false",
                "--max-pods=30", "--v=0"]
        if spec.labels:
            args.append("--node-labels=" + ",".join(f"{k}={v}" for k, v in spec.labels.items()))
        if spec.gpus:
            args.append(f"--extended-resources={GPU}={spec.gpus}")
        if spec.taints:
            args.append("--register-with-taints=" + ",".join(spec.taints))
        component = Component(f"node-{spec.name}", args, folder / "kubemark.log", cwd=folder,
                              env={"TMPDIR": str(folder)})  # the hollow kubelet's root dir and CRI socket
        self.nodes[spec.name] = component
        return component.start()

    # ---- readiness -------------------------------------------------------------------------------
    def _all(self) -> list[Component]:
        return [*self.components.values(), *self.nodes.values()]

    def node_ready(self, name: str) -> bool:
        """Ready=True and none of the taints the node lifecycle controller sets for an unhealthy node."""
        node = self.admin.get(f"/api/v1/nodes/{name}")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions") or [])
        lifecycle_taints = [t for t in (node["spec"].get("taints") or [])
                            if t["key"].startswith("node.kubernetes.io/")]  # not-ready, unreachable, ...
        return ready and not lifecycle_taints

    def _wait_ready(self, timeout_s: float = 180) -> None:
        detail = running_check(self._all)

        def components_up() -> bool:
            for c in self._all():
                c.check_running()
            return True

        components_up()
        wait_until(lambda: all(self._healthz(n) for n in ("kube-controller-manager", "kube-scheduler")),
                   timeout_s=timeout_s, what="controller manager and scheduler /healthz", detail=detail)
        wait_until(lambda: components_up() and all(self.node_ready(n) for n in self.nodes), timeout_s=timeout_s,
                   what=f"nodes {sorted(self.nodes)} Ready and untainted", detail=detail)
        wait_until(lambda: self.admin.get("/api/v1/namespaces/default/serviceaccounts/default"),
                   timeout_s=timeout_s, what="the ServiceAccount controller (default/default)", detail=detail)

    def _healthz(self, name: str) -> bool:
        import ssl
        import urllib.request

        # their serving certificates are self-signed (--cert-dir): /healthz is public, TLS is not checked
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{self.metrics_ports[name]}/healthz", timeout=2,
                                        context=context) as r:
                return bool(r.read() == b"ok")
        except OSError:
            return False

    # ---- what tests use --------------------------------------------------------------------------
    def stop_node(self, name: str) -> None:
        """Kill the node's hollow kubelet: a node failure, which the node lifecycle controller handles."""
        self.nodes[name].kill()

    def start_node(self, name: str, *, wait: bool = True) -> None:
        """Restart a stopped node; with ``wait``, until it is Ready and its lifecycle taints are gone."""
        node = self.nodes[name]
        if not node.alive():
            node.start()
        if wait:
            wait_until(lambda: node.check_running() or self.node_ready(name), timeout_s=120,
                       what=f"node {name} Ready again", detail=lambda: node.log_tail())

    def kubectl(self, *args: str, kubeconfig: Path | None = None, check: bool = True,
                timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.bin / "kubectl"), f"--kubeconfig={kubeconfig or self.admin_kubeconfig}",
                               *args], capture_output=True, text=True, timeout=timeout_s, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    def token(self, namespace: str, service_account: str, *, seconds: int = 3600) -> str:
        """A token for the ServiceAccount through the TokenRequest API, as a pod's projected token."""
        review = self.admin.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"audiences": [ISSUER], "expirationSeconds": seconds}})
        return str(review["status"]["token"])

    def token_kubeconfig(self, path: Path, token: str, *, user: str = "service-account") -> Path:
        path.write_text(kubeconfig_text(self.url, self.pki.ca.cert, user=user, token=token))
        return path

    def audit_offset(self) -> int:
        """Where the audit log ends now: pass it to ``audit_events`` to read only what follows."""
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def audit_events(self, since: int = 0, *, user: str | None = None) -> list[Obj]:
        """The audit log's completed requests from byte ``since`` on (of ``user`` when given), one per
        request: a watch logs ResponseStarted and later ResponseComplete, kept once."""
        if not self.audit_log.exists():
            return []
        with self.audit_log.open("rb") as f:
            f.seek(since)
            lines = f.read().split(b"\n")[:-1]  # the last line may still be being written
        seen: dict[str, Obj] = {}
        for line in lines:
            event = json.loads(line)
            if user is not None and event["user"].get("username") != user:
                continue
            seen.setdefault(event["auditID"], event)
        return list(seen.values())

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop(timeout_s=5)
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            if name in self.components:
                self.components[name].stop()


def wait_deleted(client: RestClient, path: str, *, timeout_s: float = 60) -> None:
    def gone() -> bool:
        try:
            client.get(path)
        except ApiStatus as e:
            if e.code == 404:
                return True
            raise
        return False

    wait_until(gone, timeout_s=timeout_s, what=f"{path} to be deleted")


def conditions(obj: Obj) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """The session's control plane, shared by every test that asks for it (tests keep to their own
    namespaces and restore what they change on nodes)."""
    bin_dir = require_control_plane()
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), bin_dir)
    try:
        plane.start()
    except BaseException:
        plane.stop()
        raise
    yield plane
    plane.stop()


def namespace_body(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}}
