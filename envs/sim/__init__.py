"""The cluster simulator: Kubernetes semantics and default timings in simulated time.

``SimulatedCluster(spec, seed=..., timings=Timings())`` implements ``envs.cluster.ClusterBackend``
and ``SteadyStateSource``; the model and its contract are in docs/simulator.md.
"""

from envs.sim.cluster import SimulatedCluster
from envs.sim.compiled import CompiledSpec, compile_spec
from envs.sim.errors import SimulationError
from envs.sim.state import PodView
from envs.sim.timings import Timings

__all__ = ["CompiledSpec", "PodView", "SimulatedCluster", "SimulationError", "Timings", "compile_spec"]
