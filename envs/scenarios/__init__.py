"""Scenarios for training and benchmarking: a cluster spec plus a hidden answer key.

``generate(seed, params)`` plants weaknesses of every kind in a robust topology; ``builtin(name,
seed)`` gives the named scenarios of config.toml; ``score_finding`` maps a finding to the class id
of the weakness it surfaced, or None for a false finding. See docs/scenarios.md.
"""

from envs.scenarios.builtins import BUILTIN_NAMES, builtin
from envs.scenarios.errors import UnknownScenarioError
from envs.scenarios.generator import generate, held_out_scenarios, training_scenarios
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
from envs.scenarios.scoring import score_finding

__all__ = [
    "BUILTIN_NAMES", "HELD_OUT", "HELD_OUT_LARGE", "HELD_OUT_SETS",
    "TRAINING", "WEAKNESS_KINDS", "Decoy", "FaultRequirement", "GeneratorParams",
    "PlantedWeakness", "Scenario", "Trigger", "UnknownScenarioError", "WeaknessKind", "builtin", "generate",
    "held_out_scenarios", "score_finding", "training_scenarios",
]
