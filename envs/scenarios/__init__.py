"""Scenarios for training and benchmarking: a cluster spec plus a hidden answer key.

``generate(seed, params)`` builds a cluster of one topology family, every workload drawn from the same
habits, and finds its weaknesses by running the simulator under every design-basis fault;
``builtin(name, seed)`` gives the hand-made scenarios of config.toml, with planted answer keys;
``score_finding`` maps a finding to the class id of the weakness it surfaced, or None. See
docs/scenarios.md.
"""

from envs.scenarios.builtins import BUILTIN_NAMES, builtin
from envs.scenarios.errors import UnknownScenarioError
from envs.scenarios.families import FAMILY_NAMES
from envs.scenarios.generator import generate, generate_cluster, held_out_scenarios, training_scenarios, with_key
from envs.scenarios.params import HELD_OUT, HELD_OUT_LARGE, HELD_OUT_SETS, TRAINING, GeneratorParams
from envs.scenarios.records import (
    WEAKNESS_KINDS,
    Decoy,
    FaultRequirement,
    PlantedWeakness,
    Scenario,
    Trigger,
    WeaknessKind,
)
from envs.scenarios.scoring import distinct_causes, score_finding

__all__ = [
    "BUILTIN_NAMES", "FAMILY_NAMES", "HELD_OUT", "HELD_OUT_LARGE", "HELD_OUT_SETS",
    "TRAINING", "WEAKNESS_KINDS", "Decoy", "FaultRequirement", "GeneratorParams",
    "PlantedWeakness", "Scenario", "Trigger", "UnknownScenarioError", "WeaknessKind", "builtin", "distinct_causes",
    "generate",
    "generate_cluster", "held_out_scenarios", "score_finding", "training_scenarios", "with_key",
]
