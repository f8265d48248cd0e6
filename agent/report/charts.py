"""The game-day report's pictures (matplotlib, Agg): the discovery curve and the fault timeline.

matplotlib is optional (the ``report`` extra): ``agent.report.document`` imports this module only
when it draws. The data behind each picture is a pure function in ``agent.report.series``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a cluster node or in CI; must precede pyplot

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from agent.findings.experiments import ExperimentRecord
from agent.findings.model import Finding
from agent.report.series import discovery_series, signal_series

FAMILY_COLOURS = {
    "pod": "#4c72b0",
    "node": "#dd8452",
    "network": "#55a868",
    "gpu": "#c44e52",
    "data": "#8172b3",
}
PANEL_OF_VIOLATION = {
    "availability": "availability",
    "latency": "latency_p99_ms",
    "undetected_drift": "accuracy",
    "data_quality": "bad_rows",
}
PANELS: tuple[tuple[str, str], ...] = (
    ("availability", "availability"),
    ("latency_p99_ms", "p99 latency (ms)"),
    ("accuracy", "model accuracy"),
    ("bad_rows", "bad input rows (share)"),
)


def discovery_curve(first_injections: Sequence[int], injections: int, path: Path) -> Path:
    series = discovery_series(first_injections, injections)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    xs = list(range(1, injections + 1))
    ax.step(xs, series, where="post", color="#c44e52", linewidth=2, label="distinct findings")
    ax.fill_between(xs, series, step="post", alpha=0.15, color="#c44e52")
    ax.set_xlabel("injections")
    ax.set_ylabel("distinct findings")
    ax.set_title("Discovery curve")
    ax.set_xlim(0.5, max(injections, 1) + 0.5)
    ax.set_ylim(0, max([*series, 1]) + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def fault_timeline(experiments: Sequence[ExperimentRecord], findings: Sequence[Finding], path: Path) -> Path:
    """Fault windows (shaded by family) over the SLO signals, with the broken thresholds and injections."""
    panels = [(f, label, signal_series(experiments, f)) for f, label in PANELS]
    panels = [p for p in panels if p[2]] or [("availability", "availability", {})]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(10, 2.4 * len(panels) + 0.6), dpi=110, sharex=True, squeeze=False
    )
    thresholds: dict[str, set[float]] = {}
    for f in findings:
        if f.violation in PANEL_OF_VIOLATION:
            thresholds.setdefault(PANEL_OF_VIOLATION[f.violation], set()).add(f.evidence.breach.threshold)
    for ax, (field, label, series) in zip(axes[:, 0], panels, strict=True):
        for r in experiments:
            if r.outcome != "applied":
                continue
            ax.axvspan(r.started_s, r.ended_s, color=FAMILY_COLOURS.get(r.family, "#999999"), alpha=0.18,
                       linewidth=0)
            if r.breached:
                ax.axvline(r.started_s, color="#c44e52", linewidth=1, alpha=0.8)
        for key, points in sorted(series.items()):
            ax.plot(
                [t for t, _ in points], [v for _, v in points], linewidth=1.2, label=key.rsplit("/", 1)[-1]
            )
        for threshold in sorted(thresholds.get(field, ())):
            ax.axhline(threshold, color="#555555", linestyle="--", linewidth=0.8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=6, loc="upper right", ncol=min(4, len(series)))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.4) for c in FAMILY_COLOURS.values()]
    fig.legend(
        handles,
        list(FAMILY_COLOURS),
        loc="upper center",
        ncol=len(FAMILY_COLOURS),
        fontsize=7,
        title="fault family (red line: injection that broke a bound; dashed: SLO threshold)",
        title_fontsize=7,
    )
    axes[-1, 0].set_xlabel("cluster time (s)")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
