"""The ``chaos-agent`` command line. The only place that prints for people and sets exit codes.

A user's mistake (bad config, missing file, bad policy) is one line on stderr and exit code 2, never a
traceback; an interrupted run reverts every fault before it exits.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.config import Config, load_config
from agent.errors import ChaosAgentError, ConfigError, PolicyError


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def _load_strategy(config: Config, name: str | None = None) -> object:
    from policies.registry import make_strategy
    from policies.runtime import PolicyFileError

    try:
        return make_strategy(name or config.policy.strategy, policy_dir=config.policy.path)
    except PolicyFileError as e:
        raise PolicyError(f"policy.path: {e}") from e


def cmd_run(args: argparse.Namespace) -> int:
    from agent.console import findings_table, print_progress
    from agent.loop import run_game_day
    from agent.worlds import simulated_world

    config = load_config(args.config)
    if config.cluster.backend != "simulated":
        raise ConfigError('cluster.backend = "kubernetes" needs the Kubernetes backend, which this build does '
                          'not include yet; use backend = "simulated"')
    max_injections = args.max_injections or config.agent.max_injections
    world = simulated_world(config)
    for note in world.spec.notes:
        print(f"note: {note}", file=sys.stderr)
    strategy = _load_strategy(config)
    print(f"chaos-agent: {world.spec.name}: {len(world.spec.workloads)} workloads, {len(world.spec.nodes)} nodes; "
          f"strategy {config.policy.strategy}; up to {max_injections} injections", file=sys.stderr)
    found = 0

    def on_event(event: object) -> None:
        nonlocal found
        from agent.loop import InjectionEvent

        assert isinstance(event, InjectionEvent)
        found += len(event.new_findings)
        if not args.quiet:
            print_progress(event, max_injections, found)

    result = run_game_day(world=world, strategy=strategy, config=config,  # type: ignore[arg-type]
                          max_injections=max_injections, on_event=on_event)
    if args.report:
        _write_json(Path(args.report), result.report())
    print(f"\n{result.injections} injections, {len(result.findings)} findings, every fault reverted.\n")
    print(findings_table(result.findings))
    if args.report:
        print(f"\nreport: {args.report}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"{config.path}: ok (sha256 {config.sha256[:12]})")
    return 0


def cmd_config_reference(args: argparse.Namespace) -> int:
    from agent.config.reference import render_reference

    text = render_reference()
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from policies.training import TrainingRun, train
    except ImportError as e:
        raise ChaosAgentError(f"training needs torch and stable-baselines3 ({e.name} is missing): run "
                              "scripts/bootstrap dev, or pip install torch==2.13.0 -e '.[train]'") from e
    config = load_config(args.config)
    twin = None
    if config.cluster.simulated.manifests is not None:
        from agent.worlds import simulated_world

        twin = simulated_world(config).spec
    run = TrainingRun(timesteps=args.timesteps, out_dir=Path(args.out), seed=args.seed, n_envs=args.envs,
                      budget=args.budget, tensorboard=Path(args.tensorboard) if args.tensorboard else None,
                      progress=not args.no_progress)
    out = train(run, twin=twin, command=shlex.join(["chaos-agent", *sys.argv[1:]]))
    print(f"exported policy: {out}/policy.json and weights.npz")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from policies.benchmark import plot, run_benchmark
    from policies.registry import BENCHMARK_STRATEGIES

    strategies = tuple(args.strategies.split(",")) if args.strategies else BENCHMARK_STRATEGIES
    report = run_benchmark(seeds=args.seeds, budget=args.budget, strategies=strategies,
                           policy_dir=Path(args.policy) if args.policy else None,
                           progress=lambda msg: print(f"benchmark: {msg}", file=sys.stderr, flush=True))
    report["command"] = shlex.join(["chaos-agent", *sys.argv[1:]])
    _write_json(Path(args.json), report)
    if args.plot:
        plot(report, Path(args.plot))
    print(f"{'strategy':<18} {'recall@B':>9} {'auc':>6} {'t1':>5} {'t_half':>7} {'t_all':>6} {'false':>6}")
    for name, s in report["strategies"].items():
        print(f"{name:<18} {s['recall_at_budget']['median']:>9.2f} {s['auc_ratio']['median']:>6.2f} "
              f"{s['t1']['median']:>5.0f} {s['t_half']['median']:>7.0f} {s['t_all']['median']:>6.0f} "
              f"{s['false_findings_total']:>6}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chaos-agent", description="An autonomous chaos agent for Kubernetes.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent's loop")
    run.add_argument("--config", default="config.toml", help="configuration file (default: ./config.toml)")
    run.add_argument("--max-injections", type=int, default=0, help="stop after N injections")
    run.add_argument("--report", help="write the findings as JSON to this path")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=cmd_run)
    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a configuration file")
    check.add_argument("config")
    check.set_defaults(func=cmd_config_check)
    ref = cfg_sub.add_parser("reference", help="print the configuration reference (Markdown)")
    ref.add_argument("--out", help="write it to this file")
    ref.set_defaults(func=cmd_config_reference)
    tr = sub.add_parser("train", help="train the RL policy and export it")
    tr.add_argument("--config", default="config.toml")
    tr.add_argument("--timesteps", type=int, required=True)
    tr.add_argument("--out", required=True, help="output folder (policy.json, weights.npz, checkpoints/)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--envs", type=int, default=0, help="parallel envs (default: one per core)")
    tr.add_argument("--budget", type=int, default=50, help="injections per training game day")
    tr.add_argument("--tensorboard", help="TensorBoard log folder")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=cmd_train)
    bm = sub.add_parser("benchmark", help="run the learning benchmark of BENCHMARK.md")
    bm.add_argument("--seeds", type=int, default=30)
    bm.add_argument("--budget", type=int, default=50)
    bm.add_argument("--json", required=True)
    bm.add_argument("--plot")
    bm.add_argument("--policy", help="exported policy folder (default: the shipped one)")
    bm.add_argument("--strategies", help="comma-separated subset")
    bm.set_defaults(func=cmd_benchmark)
    return p


def _positive(args: argparse.Namespace) -> None:
    for name in ("max_injections", "timesteps", "seeds", "budget"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if value < 0 or (value == 0 and name != "max_injections"):
            raise ChaosAgentError(f"--{name.replace('_', '-')} must be a positive number, got {value}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _positive(args)
        return int(args.func(args))
    except ChaosAgentError as e:
        print(f"chaos-agent: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chaos-agent: interrupted; active faults were reverted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
