"""The daemon on the real control plane: its configs, and what the cluster and the journals say afterwards.

The agent runs as a ``chaos-agent run`` subprocess on this machine (hollow kubelets run no container
image), authenticated as ``system:serviceaccount:chaos-agent:chaos-agent`` with exactly the RBAC that
deploy/ or the Helm chart installed (tests/e2e/installs.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.audit.records import RecordKind
from tests.agent.daemon.harness import journal_records, prometheus_section
from tests.e2e.workloads import PIPELINES, SHOP
from tests.servers.kubernetes_api import ApiStatus, RestClient

AGENT_NAMESPACE = "chaos-agent"
AGENT_USER = "system:serviceaccount:chaos-agent:chaos-agent"
MANAGED = "app.kubernetes.io/managed-by=chaos-agent"
OURS = "chaos-agent.io/"


@dataclass(frozen=True)
class InstalledAgent:
    """The agent as installed (tests/e2e/installs.py): a token of its ServiceAccount and a kubeconfig."""

    kubeconfig: Path
    token: str
    api: RestClient
    """The API server as the agent's ServiceAccount (what the daemon itself may do)."""
    confined_to: tuple[str, ...] = ()
    """The namespaces its RBAC is bound in (none: cluster-wide); its config must list the same."""


def agent_config(folder: Path, *, installed: InstalledAgent, port: int, strategy: str = "round_robin",
                 fault_duration_s: float = 1.0, recovery_s: float = 0.5, lease_duration_s: float = 3.0,
                 exclude_faults: Sequence[str] = ("node_failure",), budget: int = 1000,
                 include_namespaces: Sequence[str] = (SHOP, PIPELINES), exclude_targets: Sequence[str] = (),
                 request_timeout_s: float = 3.0, prometheus_url: str | None = None,
                 kubeconfig: Path | None = None, protect_last_replica: bool = True,
                 max_unavailable_share: float = 0.5, respect_pdb_for_kills: bool = True) -> Path:
    """A fast daemon on the test control plane, injecting only into the platform's namespaces, with the
    installed agent's token (through ``kubeconfig`` when given: a proxy's) and RBAC scope. One game day
    lasts the whole (UTC) day, so one slot runs throughout: a new slot would start round robin over."""

    def strings(values: Sequence[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    prometheus = prometheus_section(prometheus_url, timeout_s=2) if prometheus_url else ""
    text = f"""[cluster]
backend = "kubernetes"
[cluster.kubernetes]
kubeconfig = "{kubeconfig or installed.kubeconfig}"
namespaces = {strings(installed.confined_to)}
pod_grace_period_s = 0
request_timeout_s = {request_timeout_s}
retry_attempts = 3
lease_duration_s = {lease_duration_s}

[agent]
namespace = "{AGENT_NAMESPACE}"
kill_switch_poll_s = 0.2
revert_timeout_s = 30
retry_max_s = 1

[experiment]
fault_duration_s = {fault_duration_s}
sample_every_s = 0.2
recovery_s = {recovery_s}
settle_s = 0

[policy]
strategy = "{strategy}"

[safety]
max_concurrent_faults = 1
error_budget = 100000
include_namespaces = {strings(include_namespaces)}
exclude_targets = {strings(exclude_targets)}
exclude_faults = {strings(exclude_faults)}
protect_last_replica = {str(protect_last_replica).lower()}
max_unavailable_share = {max_unavailable_share}
respect_pdb_for_kills = {str(respect_pdb_for_kills).lower()}
halt_file = "halt"

[schedule]
mode = "game_days"

[[schedule.game_days]]
name = "e2e"
cron = "0 0 * * *"
budget = {budget}
duration_s = 86400

[service]
listen_host = "127.0.0.1"
listen_port = {port}
log_level = "info"

[audit]
path = "audit.jsonl"

[findings]
path = "findings.sqlite"

{prometheus}
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text)
    return path


# ---- what the cluster says ---------------------------------------------------------------------
def leftovers(api: RestClient, *, gpus: dict[str, str] | None = None) -> list[str]:
    """Every trace of a fault, read back through the API server: objects with our label (ConfigMaps,
    Chaos Mesh objects), our taints, annotations and cordons on nodes, GPU capacity off its spec."""
    found: list[str] = []
    for path, kind in (("/api/v1/configmaps", "ConfigMap"),
                       ("/apis/chaos-mesh.org/v1alpha1/networkchaos", "NetworkChaos"),
                       ("/apis/chaos-mesh.org/v1alpha1/stresschaos", "StressChaos"),
                       ("/apis/chaos-mesh.org/v1alpha1/podchaos", "PodChaos")):
        for obj in api.list(path, labelSelector=MANAGED):
            found.append(f"{kind} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}")
    for node in api.list("/api/v1/nodes"):
        name = node["metadata"]["name"]
        for taint in node["spec"].get("taints") or []:
            if taint["key"].startswith(OURS):
                found.append(f"node {name} taint {taint['key']}={taint.get('value')}:{taint['effect']}")
        for field in ("annotations", "labels"):
            found += [f"node {name} {field[:-1]} {k}" for k in node["metadata"].get(field) or {} if k.startswith(OURS)]
        if node["spec"].get("unschedulable"):
            found.append(f"node {name} cordoned")
        if gpus is not None and name in gpus:
            have = (node["status"].get("capacity") or {}).get("nvidia.com/gpu", "0")
            if have != gpus[name]:
                found.append(f"node {name} nvidia.com/gpu capacity {have}, was {gpus[name]}")
    return found


def gpu_capacity(api: RestClient) -> dict[str, str]:
    return {n["metadata"]["name"]: (n["status"].get("capacity") or {}).get("nvidia.com/gpu", "0")
            for n in api.list("/api/v1/nodes")}


def forbidden_calls(events: Iterable[dict[str, Any]]) -> list[str]:
    """The audit events answered 403, one line each."""
    return [f"{e['verb']} {e['requestURI']}: {e['responseStatus'].get('message', '')[:200]}"
            for e in events if (e.get("responseStatus") or {}).get("code") == 403]


def exists(api: RestClient, path: str) -> bool:
    try:
        api.get(path)
    except ApiStatus as e:
        if e.code == 404:
            return False
        raise
    return True


# ---- what the journals say ---------------------------------------------------------------------
@dataclass(frozen=True)
class Injection:
    """One injection of one replica as its journal tells it (times in Unix seconds)."""

    replica: str
    injection_id: str
    kind: str
    started: float
    outcome: str | None
    reverted: float | None
    outcome_at: float | None = None


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def injections(journal: Path, replica: str = "agent") -> list[Injection]:
    records = journal_records(journal)
    intents = {r.injection_id: r for r in records if r.kind is RecordKind.INTENT and r.status != "dry_run"}
    outcomes = {r.injection_id: r for r in records if r.kind is RecordKind.OUTCOME}
    reverts = {r.injection_id: _ts(r.ts) for r in records if r.kind is RecordKind.REVERT and r.status == "reverted"}
    return [Injection(replica, rid, r.fault.kind.value if r.fault else "?", _ts(r.ts),
                      outcomes[rid].status if rid in outcomes else None, reverts.get(rid),
                      _ts(outcomes[rid].ts) if rid in outcomes else None) for rid, r in intents.items()]


def sweeps(journal: Path) -> list[tuple[float, str]]:
    """(time, note) of every sweep that reverted orphaned faults (another replica's, after a takeover)."""
    return [(_ts(r.ts), r.detail or "") for r in journal_records(journal)
            if r.kind is RecordKind.NOTE and r.status == "reverted" and "orphaned" in (r.detail or "")]
