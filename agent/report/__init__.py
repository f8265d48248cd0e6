"""Game-day reports: Markdown and HTML with the discovery curve and the fault timeline."""

from agent.report.charts import discovery_series, signal_series
from agent.report.document import ReportPaths, Summary, summarise, write_report

__all__ = ["ReportPaths", "Summary", "discovery_series", "signal_series", "summarise", "write_report"]
