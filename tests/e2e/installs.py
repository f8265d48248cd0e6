"""The agent installed into the real API server as a user installs it: deploy/'s kustomizations with the
built kubectl, or the Helm chart with the built helm; then a token of the ServiceAccount it created.

Both create the same cluster-wide roles (``chaos-agent``, ``chaos-agent-nodes``, ...), so one is installed
at a time: ``Installs.ensure`` uninstalls the other first (its namespace, claims and bindings go; the
volumes its claims held are made available again). The StatefulSet is scaled to 0: the agent runs as a
``chaos-agent run`` subprocess on this machine (hollow kubelets run no container image), with exactly the
installed RBAC. Each install's run (tests/e2e/install_runs.py) scales the installed pods up once, to show
they are admitted and their claims bind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.e2e.live_agent import AGENT_NAMESPACE, InstalledAgent
from tests.e2e.workloads import PIPELINES
from tests.servers.go_modules import ROOT
from tests.servers.kubernetes import ControlPlane
from tests.servers.kubernetes_api import ApiStatus, wait_until

KUSTOMIZATIONS = ("deploy/overlays/enabled", "deploy/examples/data-faults")
"""What the Kustomize install applies, in order: the injecting overlay, then the example that binds
ConfigMap writes in the pipelines' namespace ``ml`` (it carries the base too, applied again unchanged)."""
CHART = ROOT / "deploy" / "helm" / "chaos-agent"
RELEASE = "chaos-agent"


@dataclass(frozen=True)
class Install:
    """One way to install the agent, and the namespaces its RBAC is confined to (none: cluster-wide)."""

    tool: str
    confined_to: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.tool + ("-confined" if self.confined_to else "")


KUSTOMIZE = Install("kustomize")
"""deploy/overlays/enabled and deploy/examples/data-faults: cluster-wide, as the quick start installs it."""
HELM_CONFINED = Install("helm", confined_to=(PIPELINES,))
"""The chart with ``rbac.namespaces`` and ``rbac.dataFaultNamespaces`` the pipelines' namespace: the
per-namespace confinement, which only a real API server's RBAC shows to be enough."""
INSTALLS = (KUSTOMIZE, HELM_CONFINED)


def helm_values(install: Install) -> dict[str, object]:
    return {
        "mode": "enabled",
        # the chart makes the namespace with the restricted Pod Security Standard, as deploy/base does
        "createNamespace": True,
        "networkPolicy": {"apiServerCIDRs": ["127.0.0.1/32"]},
        "rbac": {"namespaces": list(install.confined_to), "dataFaultNamespaces": [PIPELINES]},
    }


class Installs:
    """The session's one installed agent; switching installs uninstalls the previous one."""

    def __init__(self, plane: ControlPlane, folder: Path) -> None:
        self.plane = plane
        self.folder = folder
        self.current: tuple[Install, InstalledAgent] | None = None
        self.count = 0

    def ensure(self, install: Install) -> InstalledAgent:
        if self.current is not None and self.current[0] == install:
            return self.current[1]
        if self.current is not None:
            self._uninstall(self.current[0])
            self.current = None
        self._install(install)
        self.plane.kubectl("-n", AGENT_NAMESPACE, "scale", "statefulset/chaos-agent", "--replicas=0")
        self.count += 1
        folder = self.folder / f"{self.count}-{install.id}"
        folder.mkdir(parents=True, exist_ok=True)
        token = self.plane.token(AGENT_NAMESPACE, "chaos-agent", seconds=6 * 3600)
        kubeconfig = self.plane.token_kubeconfig(folder / "agent.kubeconfig", token, user="chaos-agent")
        installed = InstalledAgent(kubeconfig=kubeconfig, token=token, api=self.plane.admin.with_token(token),
                                   confined_to=install.confined_to)
        self.current = (install, installed)
        return installed

    def _install(self, install: Install) -> None:
        if install.tool == "kustomize":
            for path in KUSTOMIZATIONS:
                self.plane.kubectl("apply", "--server-side", "--force-conflicts", "-k", str(ROOT / path))
            return
        values = self.folder / f"values-{install.id}.yaml"
        values.write_text(yaml.safe_dump(helm_values(install)))
        # createNamespace: the release adopts the namespace helm makes first (docs/deployment.md, "Helm")
        self.plane.helm("install", RELEASE, str(CHART), "--namespace", AGENT_NAMESPACE, "--create-namespace",
                        "--take-ownership", "--values", str(values))

    def _uninstall(self, install: Install) -> None:
        if install.tool == "kustomize":
            for path in reversed(KUSTOMIZATIONS):
                self.plane.kubectl("delete", "--ignore-not-found", "--wait=false", "-k", str(ROOT / path))
        else:
            self.plane.helm("uninstall", RELEASE, "--namespace", AGENT_NAMESPACE)
        self._wait_namespace_gone()
        self.plane.reclaim_volumes(AGENT_NAMESPACE)

    def _wait_namespace_gone(self) -> None:
        def gone() -> bool:
            try:
                self.plane.admin.get(f"/api/v1/namespaces/{AGENT_NAMESPACE}")
            except ApiStatus as e:
                return e.code == 404
            return False

        wait_until(gone, timeout_s=120, what=f"namespace {AGENT_NAMESPACE} to be deleted")
