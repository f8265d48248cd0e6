"""The OOD report: per case and strategy, and pooled per strategy; as JSON-ready dicts and Markdown.

Metrics per run (one strategy, one case, one seed): recall (weaknesses of the key found), recall on
the weaknesses the twin can show, false findings (decoy findings among them), impact findings (beyond
the design basis), blast cost (SLO minutes burned per weakness found, as in the in-distribution
benchmark) and repetitions. Medians and IQR over seeds; totals for counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from policies.ood.run import CaseTrace
    from policies.ood.suite import OodCase


def _stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "iqr": float("nan"), "n": 0}
    q1, med, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return {"median": round(float(med), 4), "iqr": round(float(q3 - q1), 4), "n": len(values)}


def run_metrics(tr: CaseTrace, modelled: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "false_findings": tr.false_findings, "decoy_findings": tr.decoy_findings,
        "impact_findings": tr.impact_findings, "false_under_heavy_loss": tr.false_under_heavy_loss,
        "blast_cost": tr.breach_s / 60 / max(len(tr.found), 1),
        "repetitions": tr.repetitions, "max_streak": tr.max_streak, "injected": tr.injected, "skipped": tr.skipped,
    }
    if tr.weaknesses:
        out["recall"] = len(tr.found) / len(tr.weaknesses)
    if modelled:
        out["recall_modelled"] = len(set(tr.found) & set(modelled)) / len(modelled)
    return out


def _summary(traces: Sequence[CaseTrace], modelled: Sequence[str]) -> dict[str, Any]:
    per = [run_metrics(t, modelled) for t in traces]
    out: dict[str, Any] = {k: _stats([m[k] for m in per if k in m])
                           for k in ("recall", "recall_modelled", "blast_cost", "repetitions", "false_findings")}
    for k in ("false_findings", "decoy_findings", "impact_findings", "false_under_heavy_loss", "repetitions"):
        out[f"{k}_total"] = int(sum(m[k] for m in per))
    out["max_streak"] = max((m["max_streak"] for m in per), default=0)
    out["skipped_total"] = int(sum(m["skipped"] for m in per))
    return out


def summarise_suite(suite: Sequence[OodCase], traces: Sequence[CaseTrace], *, strategies: Sequence[str],
                    budget: int) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for case in suite:
        entry: dict[str, Any] = {
            "shape": case.key.shape, "annotations": case.key.annotations,
            "weaknesses": [w.id for w in case.key.weaknesses], "decoys": [d.target for d in case.key.decoys],
            "twin_gaps": case.gaps, "unmodelled": case.unmodelled,
            "twin_notes": len(case.spec.notes) if case.spec is not None else 0,
        }
        modelled = [w.id for w in case.key.weaknesses if w.id not in case.gaps]
        mine = [t for t in traces if t.case == case.name]
        entry["strategies"] = {}
        for name in strategies:
            runs = [t for t in mine if t.strategy == name]
            if not runs:
                continue
            summary = _summary(runs, modelled)
            summary["found_share"] = {w: round(sum(w in t.found for t in runs) / len(runs), 3)
                                      for w in entry["weaknesses"]}
            entry["strategies"][name] = summary
        cases[case.name] = entry
    overall: dict[str, Any] = {}
    for name in strategies:
        runs = [t for t in traces if t.strategy == name]
        with_key = [t for t in runs if t.weaknesses]
        summary = _summary(runs, [])
        summary["recall_pooled"] = round(sum(len(t.found) for t in with_key) /
                                         max(sum(len(t.weaknesses) for t in with_key), 1), 4)
        summary["recall_case_medians"] = _stats([cases[c]["strategies"][name]["recall"]["median"] for c in cases
                                                 if name in cases[c]["strategies"] and cases[c]["weaknesses"]])
        overall[name] = summary
    return {"budget": budget, "strategies": list(strategies), "cases": cases, "overall": overall}


def _cell(s: dict[str, float]) -> str:
    return "–" if not s["n"] else f"{s['median']:.2f} [{s['iqr']:.2f}]"


def markdown(report: dict[str, Any]) -> str:
    """Per-case tables, then the pooled table, then what the twin could not show."""
    lines = [f"OOD suite (`{report.get('suite_dir', 'benchmarks/ood')}`): {report['seeds']} seeds per case (from "
             f"{report['first_seed']}), {report['budget']} injections each; median [IQR] over seeds, counts are "
             f"totals over seeds.", "",
             "Pooled over every case (recall pooled: weaknesses found over weaknesses in the keys):", "",
             "| strategy | recall pooled | median of case recalls | false findings (under 30 % loss) | "
             "decoy findings | impact (beyond design basis) | blast cost | repetitions | longest streak |",
             "| --- |" + " --- |" * 8]
    for name, s in report["overall"].items():
        lines.append(f"| {name} | {s['recall_pooled']:.2f} | {_cell(s['recall_case_medians'])} | "
                     f"{s['false_findings_total']} ({s['false_under_heavy_loss_total']}) | "
                     f"{s['decoy_findings_total']} | {s['impact_findings_total']} | {_cell(s['blast_cost'])} | "
                     f"{s['repetitions_total']} | {s['max_streak']} |")
    for case, entry in report["cases"].items():
        k = len(entry["weaknesses"])
        lines += ["", f"**{case}** ({entry['shape']}, annotations: {entry['annotations']}; {k} weaknesses, "
                      f"{len(entry['decoys'])} decoys; the twin cannot show {len(entry['twin_gaps'])})", ""]
        if entry["unmodelled"]:
            lines.append(f"Not modelled by the twin: {entry['unmodelled']}")
            continue
        lines += ["| strategy | recall | recall (twin can show) | false | decoy | impact | blast cost | "
                  "repetitions |", "| --- |" + " --- |" * 7]
        for name, s in entry["strategies"].items():
            lines.append(f"| {name} | {_cell(s['recall'])} | {_cell(s['recall_modelled'])} | "
                         f"{s['false_findings_total']} | {s['decoy_findings_total']} | {s['impact_findings_total']} | "
                         f"{_cell(s['blast_cost'])} | {s['repetitions_total']} |")
    gaps = [(c, w, r) for c, e in report["cases"].items() for w, r in e["twin_gaps"].items()]
    if gaps:
        lines += ["", "Weaknesses the twin cannot show (kept in the keys and in recall):", ""]
        lines += [f"- {c} / {w}: {r}" for c, w, r in gaps]
    return "\n".join(lines) + "\n"


def console_table(report: dict[str, Any]) -> str:
    """The pooled numbers, one line per strategy, for the terminal."""
    rows = [f"{'strategy':<18} {'recall':>7} {'false':>6} {'decoy':>6} {'impact':>7} {'blast':>6} {'repeat':>7}"]
    for name, s in report["overall"].items():
        rows.append(f"{name:<18} {s['recall_pooled']:>7.2f} {s['false_findings_total']:>6} "
                    f"{s['decoy_findings_total']:>6} {s['impact_findings_total']:>7} "
                    f"{s['blast_cost']['median']:>6.2f} {s['repetitions_total']:>7}")
    return "\n".join(rows)
