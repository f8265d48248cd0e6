"""The static-rules baseline: each linter flag on the target it belongs to, tested with its design-basis
fault, every flagged action once before anything else, then uniform random."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest
import yaml

from agent.config.run import Strategy as ConfiguredStrategy
from envs.actions import KIND_INDEX, N_INTENSITIES, N_KINDS
from envs.chaos_env import ChaosClusterEnv
from envs.faults import FaultKind
from envs.simulated_clusters import fixed_world
from envs.twin import spec_from_objects
from policies.base import Decision, outcome_of
from policies.registry import BENCHMARK_STRATEGIES, make_strategy
from policies.static_rules import RULES, StaticRules, flagged_actions

APP = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        chaos-agent.io/calls: '{"auth": {"timeout_ms": 200, "retries": 1}, "api": {"timeout_ms": 3000, "retries": 1}}'
    spec:
      containers: [{name: web, image: web:1, env: [{name: AUTH, value: "auth:80"}, {name: API, value: "api:80"}]}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: Service
metadata: {name: auth, namespace: shop}
spec: {selector: {app: auth}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: auth, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: auth}}
  template:
    metadata: {labels: {app: auth}}
    spec: {containers: [{name: auth, image: auth:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: api:1, env: [{name: DB, value: "store:5432"}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: store, namespace: shop}
spec: {selector: {app: store}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store, namespace: shop}
spec:
  replicas: 1
  serviceName: store
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec: {containers: [{name: db, image: postgres:16}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: trainer, namespace: ml}
spec:
  template:
    metadata: {labels: {app: trainer}}
    spec:
      restartPolicy: OnFailure
      containers: [{name: t, image: t:1, resources: {limits: {nvidia.com/gpu: 1}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ingest
  namespace: ml
  annotations: {chaos-agent.io/pipeline-stage: producer, chaos-agent.io/feeds: model}
spec:
  replicas: 1
  selector: {matchLabels: {app: ingest}}
  template:
    metadata: {labels: {app: ingest}}
    spec: {containers: [{name: i, image: i:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: model, namespace: ml}
spec: {selector: {app: model}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: model, namespace: ml}
spec:
  replicas: 2
  selector: {matchLabels: {app: model}}
  template:
    metadata: {labels: {app: model}}
    spec: {containers: [{name: m, image: m:1}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: model, namespace: ml}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: model}}}
"""


def first_decision() -> tuple[ChaosClusterEnv, Decision]:
    spec = spec_from_objects(list(yaml.safe_load_all(APP)), name="static")
    env = ChaosClusterEnv(fixed_world(spec), budget=40, max_targets=64, warmup_s=(0.0, 0.0))
    obs, _ = env.reset(seed=3)
    return env, Decision.from_observation(obs, env.action_masks(), env.targets, env.max_targets)


def flagged_set(decision: Decision) -> set[tuple[str, FaultKind, int]]:
    flagged = flagged_actions(decision)
    kinds = {i: k for k, i in KIND_INDEX.items()}
    return {(decision.targets[t], kinds[k], i) for t, k, i in zip(*np.nonzero(flagged), strict=True)}


def test_each_flag_sits_on_the_workload_a_linter_would_name_with_the_fault_that_tests_it() -> None:
    env, decision = first_decision()
    workloads = {(t, k, i) for t, k, i in flagged_set(decision) if not t.startswith("Node/")}
    assert workloads == {
        ("shop/Deployment/auth", FaultKind.POD_KILL, 0),                 # one replica behind the entry point
        ("shop/Deployment/auth", FaultKind.NETWORK_LATENCY, 1),          # a 200 ms timeout on it
        ("shop/Deployment/api", FaultKind.POD_EVICTION, 0),              # two replicas, no PDB
        ("shop/StatefulSet/store", FaultKind.POD_KILL, 0),               # one replica on the path, no volume
        ("ml/Job/trainer", FaultKind.POD_KILL, 0),                       # never checkpoints
        ("ml/Deployment/ingest", FaultKind.DATA_DRIFT, 1),               # no drift monitor on its path
        ("ml/Deployment/ingest", FaultKind.CORRUPTED_ROWS, 1),           # no schema check on its path
        ("ml/Deployment/model", FaultKind.DATA_DRIFT, 1),
        ("ml/Deployment/model", FaultKind.CORRUPTED_ROWS, 1),
    }
    state = env.world.backend.snapshot()
    sole_hosts = {f"Node/{w.pods_by_node[0][0]}" for w in state.workloads.values() if len(w.pods_by_node) == 1}
    nodes = {t for t, k, _ in flagged_set(decision) if t.startswith("Node/")}
    assert nodes == sole_hosts and nodes, "a node is flagged exactly when it runs every pod of some workload"
    assert {k for t, k, _ in flagged_set(decision) if t.startswith("Node/")} == {FaultKind.NODE_FAILURE}


def test_every_flagged_action_is_played_once_before_anything_else_then_uniform_random() -> None:
    _, decision = first_decision()
    flagged = flagged_set(decision)
    strategy = StaticRules()
    rng = np.random.default_rng(0)
    strategy.reset(rng)
    kinds = {i: k for k, i in KIND_INDEX.items()}
    played = []
    for _ in range(len(flagged)):
        p = strategy.probabilities(decision)
        assert p.sum() == pytest.approx(1.0) and not p[~decision.flat_mask].any()
        action = int(rng.choice(p.size, p=p))
        t, rest = divmod(action, N_KINDS * N_INTENSITIES * 2)
        played.append((decision.targets[t], kinds[rest // (N_INTENSITIES * 2)], (rest // 2) % N_INTENSITIES))
        strategy.observe(decision, outcome_of(action, None, new_findings=0, refound=0, reward=0.0))
    assert sorted(played) == sorted(flagged), "each flag once, none twice, nothing unflagged"
    single = decision.mask.copy()
    single[..., 1] = False
    after = strategy.probabilities(decision)
    assert np.allclose(after, single.reshape(-1) / single.sum()), "then uniform over single faults"
    strategy.reset(rng)
    assert np.count_nonzero(strategy.probabilities(decision)) == len(flagged), "a new game day starts over"


def test_the_rules_cover_what_the_issue_lists() -> None:
    names = " / ".join(r.name for r in RULES)
    for risk in ("single replica on a request path", "PodDisruptionBudget", "every replica", "ephemeral storage",
                 "checkpoint", "drift monitor", "timeout"):
        assert risk in names


def test_static_rules_is_a_strategy_of_the_registry_the_benchmark_and_the_configuration() -> None:
    assert "static_rules" in BENCHMARK_STRATEGIES
    assert make_strategy("static_rules").name == "static_rules"
    assert set(BENCHMARK_STRATEGIES) | {"anomaly_weighted"} <= set(get_args(ConfiguredStrategy))
