"""The long-running agent: ``chaos-agent run`` on a real cluster (or ``--serve`` on the simulator).

One module per concern: ``lifecycle`` (start, stop, the resources), ``hands`` (the interruptible
backend), ``halt`` (the kill switches' watch), ``slots`` (the timetable).
"""

from agent.daemon.lifecycle import Service, serve

__all__ = ["Service", "serve"]
