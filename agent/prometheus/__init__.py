"""Prometheus as the agent's eyes on a real cluster: anomaly scores, steady-state checks, stop conditions.

Only ``client`` talks to Prometheus (and imports prometheus_api_client); everything else works on the
validated ``Series`` and ``Sample`` records it returns. Every failure to get a trustworthy answer is a
``PrometheusUnavailable``, which the daemon treats as "do not inject".
"""
