"""The long-running agent: ``chaos-agent run`` on a real cluster (or ``--serve`` on the simulator).

One module per concern: ``lifecycle`` (start and stop, every resource in an ``ExitStack``), ``slots``
(the loop over the schedule's slots) and ``schedule`` (fire times), ``recovery`` (open intents and
orphans), ``readiness`` (/readyz, computed per request), ``leadership`` (the Lease), ``halt`` (the kill
switches' watch), ``hands`` (the interruptible backend), ``observation`` (steady state and anomaly
sources), ``exports`` (the export queue's timer), ``failures`` (each cause logged once).
"""

from agent.daemon.lifecycle import Service, serve

__all__ = ["Service", "serve"]
