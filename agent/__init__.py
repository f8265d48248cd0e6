"""chaos-agent: the daemon, CLI, safety, audit trail, findings, exporters and cluster backends."""

__version__ = "0.1.0"
