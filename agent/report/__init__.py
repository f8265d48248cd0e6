"""Game-day reports: Markdown and HTML with the discovery curve and the fault timeline."""

from agent.report.document import ReportPaths, Summary, first_injections, summarise, write_report
from agent.report.series import discovery_series, signal_series

__all__ = [
    "ReportPaths", "Summary", "discovery_series", "first_injections", "signal_series", "summarise", "write_report",
]
