"""A real Prometheus scrapes the control plane and the daemon, and the daemon reads it back.

Scraped, with a ServiceAccount token (a ``prometheus`` account allowed ``get`` on the ``/metrics``
non-resource URL, as kube-prometheus grants it): kube-apiserver over TLS verified against the cluster
CA, kube-controller-manager and kube-scheduler on their secure ports (self-signed serving certificates,
authentication and authorization delegated to the API server), and the daemon's own /metrics.
kube-state-metrics and the hollow kubelets' cAdvisor are not run: the workloads' state comes from the
API server, and hollow kubelets have no containers to measure.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.daemon.harness import AgentProcess, free_port, intents, wait_for
from tests.e2e.live_agent import InstalledAgent, agent_config
from tests.e2e.workloads import namespace
from tests.servers.kubernetes import ControlPlane
from tests.servers.kubernetes_api import ApiStatus
from tests.servers.prometheus import PrometheusServer, require_binary

MONITORING = "monitoring"


def _prometheus_token(plane: ControlPlane) -> str:
    api = plane.admin
    try:
        api.create("/api/v1/namespaces", namespace(MONITORING))
        api.create(f"/api/v1/namespaces/{MONITORING}/serviceaccounts", {"metadata": {"name": "prometheus"}})
        api.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "metadata": {"name": "prometheus-metrics"},
            "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
        api.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "metadata": {"name": "prometheus-metrics"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prometheus-metrics"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": MONITORING}]})
    except ApiStatus as e:
        if e.code != 409:  # made by an earlier test of this session
            raise
    return plane.token(MONITORING, "prometheus")


def scrape_config(plane: ControlPlane, token_file: Path, agent_port: int) -> str:
    jobs = [{
        "job_name": "kube-apiserver", "scheme": "https",
        "authorization": {"credentials_file": str(token_file)},
        "tls_config": {"ca_file": str(plane.pki.ca.cert)},
        "static_configs": [{"targets": [f"127.0.0.1:{plane.port}"]}],
    }]
    for name in ("kube-controller-manager", "kube-scheduler"):
        jobs.append({
            "job_name": name, "scheme": "https", "authorization": {"credentials_file": str(token_file)},
            "tls_config": {"insecure_skip_verify": True},  # self-signed serving certificates (--cert-dir)
            "static_configs": [{"targets": [f"127.0.0.1:{plane.metrics_ports[name]}"]}],
        })
    jobs.append({"job_name": "chaos-agent", "static_configs": [{"targets": [f"127.0.0.1:{agent_port}"]}]})
    return json.dumps({"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs})


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], PrometheusServer]]:
    binary = require_binary("prometheus")
    servers: list[PrometheusServer] = []

    def start(config: str) -> PrometheusServer:
        root = tmp_path / "prometheus"
        (root / "data").mkdir(parents=True)
        (root / "prometheus.yml").write_text(config)
        port = free_port()
        server = PrometheusServer(port=port, data_dir=root / "data", config_file=root / "prometheus.yml",
                                  log_file=root / "prometheus.log",
                                  args=[binary, f"--config.file={root / 'prometheus.yml'}",
                                        f"--storage.tsdb.path={root / 'data'}",
                                        f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill()


def query(server: PrometheusServer, promql: str) -> list[dict]:
    url = f"{server.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as r:
        return list(json.loads(r.read())["data"]["result"])


def test_prometheus_scrapes_the_control_plane_and_the_daemon_which_reads_it(
        control_plane: ControlPlane, installed_agent: InstalledAgent, clean_platform: dict[str, str],
        prometheus: Callable[[str], PrometheusServer], agents: Callable[..., AgentProcess], tmp_path: Path) -> None:
    token_file = tmp_path / "prometheus.token"
    token_file.write_text(_prometheus_token(control_plane))
    agent_port = free_port()
    server = prometheus(scrape_config(control_plane, token_file, agent_port))
    config = agent_config(tmp_path / "agent", kubeconfig=installed_agent.kubeconfig, port=agent_port,
                          strategy="uniform_random", prometheus_url=server.url)
    agent = agents(config).start()
    journal = tmp_path / "agent" / "audit.jsonl"
    # the daemon fails closed without Prometheus: an injection shows it read the steady state there
    wait_for(lambda: intents(journal) or not agent.alive(), 120, f"the daemon to inject\n{agent.logs()}")
    assert agent.alive(), agent.logs()

    def series() -> dict[str, bool]:
        up = {r["metric"]["job"]: r["value"][1] == "1" for r in query(server, "up")}
        return up if len(up) == 4 and all(up.values()) else {}

    up = wait_for(series, 30, f"every target up\n{server.log_tail()}", interval_s=0.5)
    assert set(up) == {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "chaos-agent"}
    assert query(server, 'apiserver_request_total{job="kube-apiserver",resource="pods"}')
    assert query(server, 'workqueue_adds_total{job="kube-controller-manager",name="deployment"}')
    assert query(server, 'scheduler_schedule_attempts_total{job="kube-scheduler",result="scheduled"}')
    wait_for(lambda: query(server, 'chaos_agent_injections_total{job="chaos-agent"}'), 30,
             "the daemon's injections in Prometheus")
    code, _ = agent.terminate(timeout_s=60)
    assert code == 0, agent.logs()
