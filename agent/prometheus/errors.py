"""Why Prometheus could not give a trustworthy answer. The daemon injects nothing while this is raised."""

from __future__ import annotations

from agent.errors import ChaosAgentError


class PrometheusUnavailable(ChaosAgentError):
    """Prometheus did not answer, timed out, or answered something that is not a valid result.

    Fail closed: without metrics the agent cannot see the steady state, so it must not inject.
    """


class PrometheusQueryError(PrometheusUnavailable):
    """Prometheus answered and rejected the query itself (HTTP 400/422): retrying will not help."""
