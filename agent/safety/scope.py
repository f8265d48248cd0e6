"""Which targets are in scope at all: protected namespaces, include/exclude lists, opt-in labels.

These rules look only at a target's identity, never at the cluster's state, so the mask can decide
them once per target. Node targets are judged through the workloads whose pods they host (facts.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from agent.config.safety import OPT_IN_LABEL, PROTECTED_NAMESPACES, SafetySettings
from agent.errors import ConfigError

DAEMONSET = "DaemonSet"


def split_key(key: str) -> tuple[str, str, str] | None:
    """``namespace/Kind/name`` -> its parts; None for a node or anything else."""
    parts = key.split("/", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


class Scope:
    """The identity rules of [safety], with the agent's own namespace always protected."""

    def __init__(self, settings: SafetySettings, *, agent_namespace: str) -> None:
        if not agent_namespace:
            raise ConfigError("agent.namespace must name the namespace the agent runs in, got ''")
        if agent_namespace in settings.allow_namespaces:
            raise ConfigError(
                f"safety.allow_namespaces contains {agent_namespace!r}, the agent's own namespace, which can "
                "never be targeted; remove it"
            )
        self.settings = settings
        self.agent_namespace = agent_namespace
        allowed = set(settings.allow_namespaces)
        self.protected = frozenset(ns for ns in PROTECTED_NAMESPACES if ns not in allowed) | {agent_namespace}
        self.include = frozenset(settings.include_namespaces)
        self.exclude = frozenset(settings.exclude_namespaces)
        self.exclude_targets = frozenset(settings.exclude_targets)

    def namespace_reason(self, namespace: str) -> str | None:
        if namespace == self.agent_namespace:
            return f"namespace {namespace} is the agent's own and is never targeted"
        if namespace in self.protected:
            return (f"namespace {namespace} is protected; list it in safety.allow_namespaces to target it")
        if namespace in self.exclude:
            return f"namespace {namespace} is in safety.exclude_namespaces"
        if self.include and namespace not in self.include:
            return f"namespace {namespace} is not in safety.include_namespaces"
        return None

    def workload_reason(self, key: str, labels: Mapping[str, str] | None) -> str | None:
        """Why a workload may not be touched (None: it may). ``labels`` None: its labels are unknown."""
        parts = split_key(key)
        if parts is None:
            return f"{key} is not a namespace/Kind/name key"
        if key in self.exclude_targets:
            return f"{key} is in safety.exclude_targets"
        reason = self.namespace_reason(parts[0])
        if reason is not None:
            return reason
        if self.settings.opt_in and (labels is None or labels.get(OPT_IN_LABEL) != "true"):
            return f'{key} is not labelled {OPT_IN_LABEL}: "true" (safety.opt_in is on)'
        return None

    def node_reason(self, key: str) -> str | None:
        if key in self.exclude_targets:
            return f"{key} is in safety.exclude_targets"
        return None
