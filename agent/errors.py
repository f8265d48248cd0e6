"""The project's exceptions: one root, a few meaningful subclasses.

The CLI turns a ``ChaosAgentError`` into one clear line and a non-zero exit; anything else is a bug.
"""

from __future__ import annotations


class ChaosAgentError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(ChaosAgentError):
    """A configuration file or value is wrong; the message names the key, the value and what is allowed."""


class ManifestError(ChaosAgentError):
    """Kubernetes YAML given to the digital twin cannot be read at all."""


class BackendError(ChaosAgentError):
    """The cluster backend could not do what was asked."""


class SafetyError(ChaosAgentError):
    """A guardrail refused an action."""


class AuditError(ChaosAgentError):
    """The audit trail cannot be written or does not verify."""


class PolicyError(ChaosAgentError):
    """A policy file is missing, corrupt, or does not match its recorded hash."""


class ExportError(ChaosAgentError):
    """A ticketing exporter failed; the finding stays queued."""
