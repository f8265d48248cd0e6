"""The ``chaos-agent`` command line. The only place that prints for people and sets exit codes.

A user's mistake (bad config, missing file, bad policy) is one line on stderr and exit code 2, never a
traceback; an interrupted run reverts every fault before it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import re
import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from agent.config import Config, load_config
from agent.config.run import AgentSettings
from agent.errors import ChaosAgentError

if TYPE_CHECKING:
    from agent.twin.inputs import TwinInputs
    from envs.spec import ClusterSpec


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def _policy_hash(strategy: object) -> str:
    return str(getattr(strategy, "sha256", "") or f"strategy:{getattr(strategy, 'name', '?')}")


def _warn(problem: str) -> None:
    print(f"chaos-agent: warning: {problem}", file=sys.stderr)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """SIGTERM and SIGINT ask the run to end after the experiment under way, which reverts its faults, so
    the summary and the report are still written; a second signal interrupts at once (faults still reverted)."""
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        print(f"chaos-agent: {signal.Signals(signum).name}: finishing the experiment under way (its faults are "
              "reverted), then the summary; send it again to stop at once", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_run(args: argparse.Namespace) -> int:
    from agent.audit import AuditJournal
    from agent.console import print_progress
    from agent.findings import FindingStore
    from agent.loop import InjectionEvent, Supervision, run_game_day
    from agent.memory import MemoryStore, memory_path
    from agent.safety import SafetyGuard
    from agent.session import export_findings, prepare
    from agent.supervision import recover

    config = load_config(args.config)
    if config.cluster.backend == "kubernetes" or args.serve:
        from agent.daemon import serve
        from agent.service.logging import configure_logging

        configure_logging(level=config.service.log_level)
        return serve(config)
    max_injections = args.max_injections or config.agent.max_injections
    ready = prepare(config)
    world = ready.world
    assert world is not None  # the simulated backend
    for note in world.spec.notes:
        print(f"note: {note}", file=sys.stderr)
    guard = SafetyGuard(config.safety, agent_namespace=config.agent.namespace)
    journal = AuditJournal.open(config.audit.path, config_hash=config.sha256, policy_hash=_policy_hash(ready.strategy),
                                sealer=ready.sealer)
    store = FindingStore(config.findings.path, on_unreadable=_warn)
    memory = MemoryStore(memory_path(config.findings.path))
    what = "one ticket per weakness" if config.weaknesses.tickets == "weakness" else "findings exported"
    exports = f"; {what} to {', '.join(ready.exporters)} at the end" if ready.exporters else ""
    found = 0

    def on_event(event: InjectionEvent) -> None:
        nonlocal found
        found += len(event.new_findings)
        if not args.quiet:
            print_progress(event, max_injections, found, sys.stderr)

    with _stop_on_signals() as signals:
        try:
            left = recover(journal, world.backend)
            if left:
                print(f"chaos-agent: reverted {len(left)} fault(s) a previous run left open: {', '.join(left)}",
                      file=sys.stderr)
            print(f"chaos-agent: {world.spec.name}: {len(world.spec.workloads)} workloads, {len(world.spec.nodes)} "
                  f"nodes; strategy {config.policy.strategy}; dry run {config.safety.dry_run}; up to "
                  f"{max_injections} injections{exports}", file=sys.stderr)
            supervision = Supervision(guard=guard, journal=journal, store=store, memory=memory)
            result = run_game_day(world=world, strategy=ready.strategy, config=config, max_injections=max_injections,
                                  on_event=on_event, should_stop=lambda: bool(signals), supervision=supervision)
            if signals:
                result.stopped = f"{signal.Signals(signals[0]).name} received"
            if ready.exporters and config.weaknesses.tickets == "finding":
                sent = export_findings(store, ready.exporters, result.findings.values(), config, datetime.now(UTC))
                print(f"chaos-agent: exports: {sent.sent} sent, {sent.failed + sent.parked} failed (kept in "
                      f"{config.findings.path}; the next run tries them again)", file=sys.stderr)
            weak = _after_run(config, world.spec, store, list(result.findings.values()),
                              ready.exporters if config.weaknesses.tickets == "weakness" else {})
            if weak.tickets is not None:
                t = weak.tickets
                print(f"chaos-agent: tickets: {t.sent} sent, {t.failed + t.parked} failed (kept in "
                      f"{config.findings.path}; the next run tries them again)", file=sys.stderr)
            _seq, head = journal.position()
        finally:
            journal.close()
            store.close()
            memory.close()
    for warning in result.warnings:
        _warn(warning)
    if args.report:
        _write_json(Path(args.report), {**result.report(), **weak.report()})
    _print_run_summary(result, weak)
    if args.report:
        print(f"\nreport: {args.report}")
    print(f"audit trail: {config.audit.path}  (verify: chaos-agent audit verify {config.audit.path} "
          f"--expected-head {head})")
    return 128 + signals[0] if signals else 0


def _after_run(config: Config, spec: Any, store: Any, findings: list[Any], exporters: Any) -> Any:
    """Weaknesses behind the stored findings, with one ticket per weakness in every exporter given."""
    from agent.weaknesses.session import after_game_day

    return after_game_day(spec=spec, config=config, findings=store, run_findings=findings, exporters=exporters,
                          now=datetime.now(UTC))


def _print_run_summary(result: Any, weak: Any) -> None:
    """Weaknesses first (the root causes to fix), the blast radius of extreme faults, then the findings."""
    from agent.findings import render_list
    from agent.weaknesses.render import render_impacts, render_weakness_list

    stopped = f" Stopped early: {result.stopped}." if result.stopped else ""
    print(f"\n{result.injections} injections, {len(weak.shown)} weaknesses, {len(result.findings)} findings, "
          f"every fault reverted.{stopped}\n")
    print("Weaknesses (root causes under design-basis faults; `chaos-agent weaknesses show ID` for the fix):")
    print(render_weakness_list(weak.shown), end="")
    impacts = render_impacts(weak.impacts)
    if impacts:
        print("\n" + impacts, end="")
    print("\nFindings (the evidence):")
    print(render_list(sorted(result.findings.values(), key=lambda f: f.injection_index)), end="")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from agent.audit import load_sealer, verify

    if args.expected_head is not None and not re.fullmatch(r"[0-9a-f]{64}", args.expected_head):
        raise ChaosAgentError(f"--expected-head must be the 64 hex digits of a published head (an audit_head log "
                              f"line or AuditHead Event), got {args.expected_head!r}")
    key_file = Path(args.key_file) if args.key_file else (load_config(args.config).audit.key_file
                                                           if args.config else None)
    report = verify(Path(args.path), expected_head=args.expected_head,
                    sealer=load_sealer(key_file) if key_file else None)
    print(report.describe())
    return 0 if report.ok else 1


def _kill_switch(args: argparse.Namespace) -> object:
    from agent.safety import FileKillSwitch

    return FileKillSwitch(load_config(args.config).safety.halt_file)


def cmd_halt(args: argparse.Namespace) -> int:
    switch = _kill_switch(args)
    switch.halt(args.reason)  # type: ignore[attr-defined]
    print("halted: a running agent reverts every active fault and stops injecting; "
          "`chaos-agent resume` lets it go on")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    _kill_switch(args).resume()  # type: ignore[attr-defined]
    print("resumed")
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    from agent.findings import FindingStore, finding_show_text, findings_list_text

    config = load_config(args.config)
    if not config.findings.path.exists():
        print(f"no findings yet ({config.findings.path} does not exist: run the agent first)")
        return 0
    with FindingStore(config.findings.path, on_unreadable=_warn) as store:
        text = findings_list_text(store) if args.findings_command == "list" else finding_show_text(store, args.id)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_weaknesses(args: argparse.Namespace) -> int:
    from agent.findings import FindingStore
    from agent.weaknesses.render import render_weakness, render_weakness_list, unknown
    from agent.weaknesses.store import WeaknessStore

    config = load_config(args.config)
    if not config.findings.path.exists():
        print(f"no weaknesses yet ({config.findings.path} does not exist: run the agent first)")
        return 0
    with (FindingStore(config.findings.path, on_unreadable=_warn) as findings,
          WeaknessStore(config.findings.path, on_unreadable=_warn) as store):
        if args.weaknesses_command == "list":
            text = render_weakness_list(store.all(args.status))
        else:
            record = store.get(args.id)
            if record is None:
                raise unknown(args.id, str(config.findings.path))
            if args.patch:
                text = record.remedy.patch if record.remedy is not None and record.remedy.patch else ""
                if not text:
                    raise ChaosAgentError(f"{record.id} has no manifest patch: "
                                          f"{record.remedy.summary if record.remedy else 'no known fix'}")
            else:
                evidence = [f for f in (findings.get(i) for i in record.weakness.findings) if f is not None]
                text = render_weakness(record, evidence, store.tickets(record.id), store.events(record.id))
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_retest(args: argparse.Namespace) -> int:
    from agent.audit import AuditJournal
    from agent.embedded_cluster import simulated_world
    from agent.exporters import build_exporters
    from agent.findings import FindingStore
    from agent.loop import Supervision
    from agent.safety import SafetyGuard
    from agent.supervision import recover
    from agent.weaknesses.retest import retest
    from agent.weaknesses.session import send_tickets
    from agent.weaknesses.store import WeaknessStore
    from agent.weaknesses.tickets import ticket_exporters

    config = load_config(args.config)
    if config.cluster.backend == "kubernetes":
        raise ChaosAgentError("chaos-agent retest runs on the simulated cluster; on a real cluster schedule it in the "
                              'service: [[schedule.game_days]] with kind = "retest" (docs/weaknesses.md)')
    world = simulated_world(config)
    exporters = ticket_exporters(build_exporters(config.exporters))
    guard = SafetyGuard(config.safety, agent_namespace=config.agent.namespace)
    journal = AuditJournal.open(config.audit.path, config_hash=config.sha256, policy_hash="retest")
    try:
        recover(journal, world.backend)
        with FindingStore(config.findings.path) as findings, WeaknessStore(config.findings.path) as store:
            if not store.all():
                print("no weaknesses to retest: run a game day first")
                return 0
            report = retest(world=world, config=config, findings=findings, weaknesses=store,
                            supervision=Supervision(guard=guard, journal=journal, store=findings),
                            exporters=exporters, max_injections=args.max_injections or None)
            tickets = send_tickets(store, findings, exporters, datetime.now(UTC), config) if exporters else None
    finally:
        journal.close()
    for o in report.outcomes:
        verdict = "reproduces" if o.reproduced else "no longer reproduces"
        print(f"{o.weakness}  {o.status:<8}  {verdict} ({o.experiments} experiment(s))  {o.title}")
    stopped = f"; stopped early: {report.stopped}" if report.stopped else ""
    print(f"\nretest: {report.injections} injections, {len(report.outcomes)} weaknesses retested{stopped}")
    if tickets is not None:
        print(f"tickets: {tickets.sent} sent, {tickets.failed} failed (retried later), {tickets.parked} parked")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from agent.findings import FindingStore
    from agent.report import write_report
    from agent.report.runs import select_run
    from agent.weaknesses.store import WeaknessStore

    config = load_config(args.config)
    if not config.findings.path.exists():
        raise ChaosAgentError(f"no findings store at {config.findings.path}: run the agent first")
    with FindingStore(config.findings.path, on_unreadable=_warn) as store:
        chosen = select_run(store, args.run)
    shown = {f.id for f in chosen.findings}
    with WeaknessStore(config.findings.path) as weaknesses:  # those the chosen run's findings show lead the report
        leading = [r for r in weaknesses.all() if set(r.weakness.findings) & shown]
    for note in chosen.notes:
        _warn(note)
    out = Path(args.out) if args.out else config.findings.report_dir
    paths = write_report(chosen.findings, chosen.experiments, out, weaknesses=leading)
    print(f"report: {paths.markdown} and {paths.html} ({chosen.describe()})")
    if paths.charts_note:
        print(f"chaos-agent: note: {paths.charts_note}", file=sys.stderr)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    from agent.session import prepare

    config = load_config(getattr(args, "config", "config.toml"))  # the positional or the flag
    ready = prepare(config)  # what run builds before its first injection, built the same way
    print(f"{config.path}: ok (sha256 {config.sha256[:12]}); {ready.checked()}")
    return 0


def cmd_config_reference(args: argparse.Namespace) -> int:
    from agent.config.reference import render_reference

    text = render_reference()
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")
    return 0


MAX_INJECTIONS = int(next(f for f in dataclasses.fields(AgentSettings) if f.name == "max_injections").metadata["max"])


def _twin(args: argparse.Namespace) -> tuple[TwinInputs, ClusterSpec]:
    from agent.embedded_cluster import no_workload_reason
    from agent.twin.inputs import build, gather

    config = load_config(args.config)
    inputs = gather(config)
    spec = build(inputs)
    if not spec.workloads:
        raise ChaosAgentError(f"the twin of {inputs.origin} {inputs.name!r} has no workload it can model: "
                              f"{no_workload_reason(spec)}; see docs/twin.md")
    return inputs, spec


def cmd_twin_build(args: argparse.Namespace) -> int:
    from agent.twin.export import write_twin

    inputs, spec = _twin(args)
    written = write_twin(Path(args.out), inputs, spec)
    print(f"twin {spec.name}: {len(spec.workloads)} workloads, {len(spec.inferred)} inferred annotations, "
          f"{len(spec.notes)} notes; wrote {len(written)} files to {args.out}")
    return 0


def cmd_twin_show(args: argparse.Namespace) -> int:
    from agent.twin.show import describe

    inputs, spec = _twin(args)
    print(describe(spec, origin=inputs.origin, telemetry=tuple(sorted({c.origin for c in inputs.observed}))), end="")
    return 0


TRAIN_FLAGS = {"timesteps": "--timesteps", "n_envs": "--envs", "budget": "--budget",
               "warm_start_states": "--warm-start", "dagger_rounds": "--dagger-rounds",
               "learning_rate": "--learning-rate", "ent_coef": "--ent-coef", "clusters": "--clusters",
               "families": "--without-family", "init_policy": "--init-policy", "critic_warmup": "--critic-warmup"}
"""TrainingRun fields -> the train flags that set them, for error messages."""


TRAIN_EXTRAS = ("torch", "stable_baselines3", "sb3_contrib")
INSTALL_TRAIN = "in a clone run scripts/bootstrap dev, or pip install torch==2.13.0 -e '.[train]'"


def _require(modules: Sequence[str], what: str, install: str) -> None:
    """One clear line, before any work, when an optional dependency of a command is not installed."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ChaosAgentError(f"{what} needs {name}, which is not installed: {install}") from e


def cmd_train(args: argparse.Namespace) -> int:
    from envs.scenarios import FAMILY_NAMES
    from policies.training import TrainingRun, TrainingRunError, train  # torch is imported by train() only

    unknown = [f for f in args.without_family or [] if f not in FAMILY_NAMES]
    if unknown:
        raise ChaosAgentError(f"chaos-agent train: --without-family {unknown[0]!r} is not a topology family; "
                              f"known: {', '.join(FAMILY_NAMES)}")
    families = tuple(f for f in FAMILY_NAMES if f not in (args.without_family or []))
    try:  # before any work: a bad number is refused with the flag that set it
        run = TrainingRun(timesteps=args.timesteps, out_dir=Path(args.out), seed=args.seed, n_envs=args.envs,
                          budget=args.budget, tensorboard=Path(args.tensorboard) if args.tensorboard else None,
                          progress=not args.no_progress, warm_start_states=args.warm_start,
                          dagger_rounds=args.dagger_rounds, learning_rate=args.learning_rate, ent_coef=args.ent_coef,
                          clusters=args.clusters, families=families if args.without_family else (),
                          key_cache=Path(args.key_cache), critic_warmup=args.critic_warmup,
                          init_policy=Path(args.init_policy) if args.init_policy else None)
    except TrainingRunError as e:
        flag = TRAIN_FLAGS.get(e.field, e.field)
        raise ChaosAgentError(f"chaos-agent train: {flag} must be {e.requirement}, got {e.value}") from e
    if run.init_policy is not None:
        from policies.runtime import PolicyFileError, RuntimePolicy

        try:
            RuntimePolicy.load(run.init_policy)
        except PolicyFileError as e:
            raise ChaosAgentError(f"chaos-agent train: --init-policy: {e}") from e
    _require(TRAIN_EXTRAS, "chaos-agent train", INSTALL_TRAIN)
    config = load_config(args.config)
    twin = None
    if config.cluster.simulated.manifests is not None:
        from agent.embedded_cluster import simulated_world

        twin = simulated_world(config).spec
    out = train(run, twin=twin, command=shlex.join(["chaos-agent", *sys.argv[1:]]))
    print(f"exported policy: {out}/policy.json and weights.npz")
    return 0


def cmd_export_policy(args: argparse.Namespace) -> int:
    _require(TRAIN_EXTRAS, "chaos-agent export-policy", INSTALL_TRAIN)
    from policies.training import export_checkpoint

    checkpoint = Path(args.checkpoint)
    if not checkpoint.is_file():
        raise ChaosAgentError(f"--checkpoint {checkpoint} is not a file; checkpoints are DIR/checkpoints/*.zip")
    out = export_checkpoint(checkpoint, Path(args.out), command=shlex.join(["chaos-agent", *sys.argv[1:]]))
    print(f"exported policy: {out}/policy.json and weights.npz")
    return 0


def _compared_policies(values: list[str]) -> dict[str, Path]:
    """``--compare NAME=DIR`` values: exported policies to run side by side, each under its name."""
    from policies.runtime import PolicyFileError, RuntimePolicy

    out: dict[str, Path] = {}
    for value in values:
        name, sep, directory = value.partition("=")
        if not sep or not name or not directory:
            raise ChaosAgentError(f"chaos-agent benchmark: --compare {value!r} must be NAME=DIR (an exported policy)")
        try:
            RuntimePolicy.load(Path(directory))
        except PolicyFileError as e:
            raise ChaosAgentError(f"chaos-agent benchmark: --compare {name}: {e}") from e
        out[name] = Path(directory)
    return out


def cmd_benchmark(args: argparse.Namespace) -> int:
    from envs.scenarios import HELD_OUT_SETS
    from policies.benchmark import markdown, plot, run_benchmark
    from policies.registry import BENCHMARK_STRATEGIES

    if args.suite == "ood":
        return _benchmark_ood(args)
    if args.clusters not in HELD_OUT_SETS:
        raise ChaosAgentError(f"chaos-agent benchmark: --clusters {args.clusters!r} is not a held-out set; "
                              f"known: {', '.join(HELD_OUT_SETS)}")
    if args.plot:
        _require(("matplotlib",), "chaos-agent benchmark --plot", "in a clone run scripts/bootstrap dev, or pip "
                 "install -e '.[report]' (or leave --plot out)")

    strategies = tuple(args.strategies.split(",")) if args.strategies else BENCHMARK_STRATEGIES
    compared = _compared_policies(args.compare or [])
    seeds, budget = args.seeds or 30, args.budget or 50
    if args.game_days < 1 or budget % args.game_days:
        raise ChaosAgentError(f"chaos-agent benchmark: --game-days {args.game_days} must be >= 1 and divide "
                              f"--budget {budget}")
    report = run_benchmark(seeds=seeds, budget=budget, strategies=strategies,
                           policy_dir=Path(args.policy) if args.policy else None, clusters=args.clusters,
                           policies=compared, game_days=args.game_days, key_cache=Path(args.key_cache),
                           progress=lambda msg: print(f"benchmark: {msg}", file=sys.stderr, flush=True))
    report["command"] = shlex.join(["chaos-agent", *sys.argv[1:]])
    _write_json(Path(args.json), report)
    if args.plot:
        plot(report, Path(args.plot))
    if args.markdown:
        Path(args.markdown).write_text(markdown(report))
    print(f"{'strategy':<18} {'recall@B':>9} {'auc':>6} {'t1':>5} {'t_half':>7} {'t_all':>6} {'false':>6}")
    for name, s in report["strategies"].items():
        print(f"{name:<18} {s['recall_at_budget']['median']:>9.2f} {s['auc_ratio']['median']:>6.2f} "
              f"{s['t1']['median']:>5.0f} {s['t_half']['median']:>7.0f} {s['t_all']['median']:>6.0f} "
              f"{s['false_findings_total']:>6}")
    return 0


def _benchmark_ood(args: argparse.Namespace) -> int:
    """The hand-written out-of-distribution suite (benchmarks/ood): every strategy, scored by answer keys."""
    from policies.ood import AnswerKeyError, SuiteError, console_table, markdown, run_ood
    from policies.registry import BENCHMARK_STRATEGIES

    if args.plot:
        raise ChaosAgentError("chaos-agent benchmark: --plot draws the generated suite's curves; "
                              "drop it with --suite ood (the tables go to --markdown)")
    strategies = tuple(args.strategies.split(",")) if args.strategies else BENCHMARK_STRATEGIES
    compared = _compared_policies(args.compare or [])
    try:
        report = run_ood(seeds=args.seeds or 5, budget=args.budget or 60, strategies=strategies,
                         policy_dir=Path(args.policy) if args.policy else None, policies=compared,
                         progress=lambda msg: print(f"benchmark: {msg}", file=sys.stderr, flush=True))
    except (SuiteError, AnswerKeyError) as e:
        raise ChaosAgentError(f"chaos-agent benchmark --suite ood: {e}") from e
    report["command"] = shlex.join(["chaos-agent", *sys.argv[1:]])
    _write_json(Path(args.json), report)
    if args.markdown:
        Path(args.markdown).write_text(markdown(report))
    print(console_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chaos-agent", description="An autonomous chaos agent for Kubernetes.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent's loop")
    run.add_argument("--config", default="config.toml", help="configuration file (default: ./config.toml)")
    run.add_argument("--max-injections", type=int, default=0, help="stop after N injections")
    run.add_argument("--report", help="write the findings as JSON to this path")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--serve", action="store_true", help=(
        "run as the long-running service (schedule, /healthz, /readyz, /metrics, kill switch) on the "
        "simulated cluster too; the kubernetes backend always does"))
    run.set_defaults(func=cmd_run)
    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser("check", help="validate a configuration file, and build what run would build from it")
    check.add_argument("config", nargs="?", default=argparse.SUPPRESS,
                       help="configuration file (default: ./config.toml)")
    check.add_argument("--config", dest="config", default=argparse.SUPPRESS, help="the same, as a flag")
    check.set_defaults(func=cmd_config_check)
    ref = cfg_sub.add_parser("reference", help="print the configuration reference (Markdown)")
    ref.add_argument("--out", help="write it to this file")
    ref.set_defaults(func=cmd_config_reference)
    tr = sub.add_parser("train", help="train the RL policy and export it")
    tr.add_argument("--config", default="config.toml")
    tr.add_argument("--timesteps", type=int, required=True,
                    help="MaskablePPO steps after the warm start (0: none, as the shipped policy; "
                         "training on the twin of your manifests needs more than 0)")
    tr.add_argument("--out", required=True, help="output folder (policy.json, weights.npz, checkpoints/)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--envs", type=int, default=0, help="parallel envs (default: one per core)")
    tr.add_argument("--budget", type=int, default=50, help="injections per training game day")
    tr.add_argument("--tensorboard", help="TensorBoard log folder")
    tr.add_argument("--learning-rate", type=float, default=3e-4, help="PPO learning rate")
    tr.add_argument("--ent-coef", type=float, default=0.01, help="PPO entropy bonus")
    tr.add_argument("--no-progress", action="store_true")
    tr.add_argument("--warm-start", type=int, default=12000, metavar="STATES",
                    help="training-cluster states labelled by a privileged teacher, cloned before PPO (0: none)")
    tr.add_argument("--dagger-rounds", type=int, default=2, metavar="N",
                    help="after the warm start, rounds of the student's own game days relabelled by the teacher")
    tr.add_argument("--clusters", type=int, default=150, metavar="N",
                    help="generated training clusters (their answer keys are swept once and cached)")
    tr.add_argument("--without-family", action="append", metavar="FAMILY",
                    help="leave a topology family out of training (repeatable), for leave-one-family-out")
    tr.add_argument("--key-cache", default="var/cache/answer-keys", metavar="DIR",
                    help="where the training clusters' answer keys are kept between runs")
    tr.add_argument("--init-policy", metavar="DIR",
                    help="start from this exported policy's weights (sha256 checked), e.g. to fine-tune with PPO")
    tr.add_argument("--critic-warmup", type=int, default=0, metavar="STEPS",
                    help="PPO steps that train only the critic before the actor moves")
    tr.set_defaults(func=cmd_train)
    ex = sub.add_parser("export-policy", help="export a training checkpoint to the daemon's torch-free format")
    ex.add_argument("--checkpoint", required=True, help="a checkpoints/*.zip written by train")
    ex.add_argument("--out", required=True)
    ex.set_defaults(func=cmd_export_policy)
    bm = sub.add_parser("benchmark", help="run the learning benchmark (docs/benchmark-protocol.md)")
    bm.add_argument("--suite", choices=("generated", "ood"), default="generated",
                    help="generated: held-out clusters of the scenario generator (default); ood: the hand-written "
                         "cases of benchmarks/ood, scored by their answer keys")
    bm.add_argument("--seeds", type=int, help="seeds (default: 30 generated clusters; 5 per OOD case)")
    bm.add_argument("--budget", type=int, help="injections per game day (default: 50; 60 with --suite ood)")
    bm.add_argument("--json", required=True)
    bm.add_argument("--plot", help="also draw the discovery curves to this PNG (needs matplotlib)")
    bm.add_argument("--markdown", help="also write the tables as Markdown")
    bm.add_argument("--policy", help="exported policy folder (default: the shipped one)")
    bm.add_argument("--strategies", help="comma-separated subset")
    bm.add_argument("--compare", action="append", metavar="NAME=DIR",
                    help="also run the exported policy in DIR under NAME, side by side with rl (repeatable)")
    bm.add_argument("--key-cache", default="var/cache/answer-keys", metavar="DIR",
                    help="where the held-out clusters' answer keys are kept between runs")
    bm.add_argument("--game-days", type=int, default=1, metavar="N",
                    help="split the budget over N game days per cluster, the cluster's memory kept between them")
    bm.add_argument("--clusters", default="held-out",
                    help="the held-out set: held-out (the benchmark's own) or held-out-large (the same weaknesses "
                         "among three times as many healthy workloads, about twice the cluster)")
    bm.set_defaults(func=cmd_benchmark)
    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    ver = audit_sub.add_parser("verify", help="check a journal: the first changed, removed or reordered record")
    ver.add_argument("path")
    ver.add_argument("--expected-head", metavar="HASH",
                     help="a head published earlier (the daemon's audit_head log line or AuditHead Event): the "
                          "journal must still pass through it")
    ver.add_argument("--key-file", help="the audit key the journal is sealed with ([audit] key_file)")
    ver.add_argument("--config", help="take the key from this config's [audit] key_file")
    ver.set_defaults(func=cmd_audit_verify)
    halt = sub.add_parser("halt", help="kill switch: revert every active fault and stop injecting")
    halt.add_argument("--config", default="config.toml")
    halt.add_argument("--reason", default="halted from the command line")
    halt.set_defaults(func=cmd_halt)
    resume = sub.add_parser("resume", help="lift the kill switch")
    resume.add_argument("--config", default="config.toml")
    resume.set_defaults(func=cmd_resume)
    fnd = sub.add_parser("findings", help="list or show stored findings")
    fnd.add_argument("--config", default="config.toml")
    fnd_sub = fnd.add_subparsers(dest="findings_command", required=True)
    # --config is accepted after the verb too (findings list --config X); there it wins
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--config", default=argparse.SUPPRESS, help="configuration file (default: ./config.toml)")
    fnd_sub.add_parser("list", help="every finding, worst first", parents=[after]).set_defaults(func=cmd_findings)
    show = fnd_sub.add_parser("show", help="one finding with its evidence and exports", parents=[after])
    show.add_argument("id", help="finding id (F-..., a unique prefix) or signature")
    show.set_defaults(func=cmd_findings)
    wk = sub.add_parser("weaknesses", help="list or show weaknesses: root causes with their fix and evidence")
    wk.add_argument("--config", default="config.toml")
    wk_sub = wk.add_subparsers(dest="weaknesses_command", required=True)
    wk_list = wk_sub.add_parser("list", help="every weakness, open first, worst first", parents=[after])
    wk_list.add_argument("--status", choices=("open", "resolved"), help="only weaknesses in this status")
    wk_list.set_defaults(func=cmd_weaknesses)
    wk_show = wk_sub.add_parser("show", help="one weakness: why, what it breaks, the fix, the evidence, tickets",
                                parents=[after])
    wk_show.add_argument("id", help="weakness id (W-..., a unique prefix)")
    wk_show.add_argument("--patch", action="store_true", help="print only the fix as YAML, to apply")
    wk_show.set_defaults(func=cmd_weaknesses)
    rt = sub.add_parser("retest", help="re-run what reproduced each weakness; resolve or reopen its tickets")
    rt.add_argument("--config", default="config.toml")
    rt.add_argument("--max-injections", type=int, default=0, help="stop after N injections")
    rt.set_defaults(func=cmd_retest)
    twin = sub.add_parser("twin", help="the digital twin of your manifests or live cluster")
    twin_sub = twin.add_subparsers(dest="twin_command", required=True)
    tb = twin_sub.add_parser("build", help="write the twin as reviewable YAML: the manifests plus every inferred "
                                           "annotation, each with where it came from")
    tb.add_argument("--config", default="config.toml")
    tb.add_argument("--out", required=True, help="output folder")
    tb.set_defaults(func=cmd_twin_build)
    ts = twin_sub.add_parser("show", help="print the twin's entry points, call graph, loads and datastores")
    ts.add_argument("--config", default="config.toml")
    ts.set_defaults(func=cmd_twin_show)
    rep = sub.add_parser("report", help="write the game-day report (Markdown and HTML; charts with matplotlib)")
    rep.add_argument("--config", default="config.toml")
    rep.add_argument("--out", help="output folder (default: [findings] report_dir)")
    rep.add_argument("--run", help="the run to report: its id (default: the latest run in the store), or all")
    rep.set_defaults(func=cmd_report)
    return p


def _positive(args: argparse.Namespace) -> None:
    for name in ("max_injections", "seeds", "budget"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if value < 0 or (value == 0 and name != "max_injections"):
            raise ChaosAgentError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if getattr(args, "max_injections", 0) > MAX_INJECTIONS:
        raise ChaosAgentError(f"--max-injections must be at most {MAX_INJECTIONS} (as [agent] max_injections), "
                              f"got {args.max_injections}")


def main(argv: Sequence[str] | None = None) -> int:
    # The daemon's matrices are small (one row per target): multi-threaded BLAS only adds synchronisation
    # stalls to a decision's tail latency on a busy node. Commands import numpy lazily, after this.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
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
