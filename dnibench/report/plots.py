"""The figures of a run report, one function per figure.

Every function takes a loaded run (or its directory) and the folder to save
into, and returns the saved PNG's path, or ``None`` when the run has nothing
to draw (a training-only run has no lock idle, a pipeline-only run no
learning curves), so callers can list exactly the figures that exist.

Bars are medians over repeats with whiskers spanning the repeats (min to
max): with the 1 to 5 repeats a benchmark run affords, a standard error
would pretend to a precision that is not there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from dnibench.report.hooks import ReportHooks
from dnibench.report.style import KIND_COLOURS, bar_height, figure, palette, save, styled
from dnibench.rundir.layout import PLOTS
from dnibench.rundir.reader import RunData, load_run

__all__ = [
    "PLOT_NAMES",
    "make_plots",
    "plot_compare",
    "plot_learning_curves",
    "plot_lock_idle",
    "plot_memory",
    "plot_throughput",
]

#: File stems of the run figures, in report order.
PLOT_NAMES = ("throughput", "lock_idle", "timeline", "learning_curves", "memory")
_SPREAD = ("pi", 100)  # whiskers: min to max over repeats
_IDLE_PARTS = (
    ("busy_fraction", "busy"),
    ("wait_activation_fraction", "wait activation"),
    ("wait_gradient_fraction", "wait gradient"),
    ("comm_fraction", "comm"),
    ("unattributed_fraction", "other"),
)


def _as_run(run: RunData | Path | str) -> RunData:
    return run if isinstance(run, RunData) else load_run(Path(run))


def _plots_dir(run: RunData, out_dir: Path | None) -> Path:
    return Path(out_dir) if out_dir is not None else run.run_dir / PLOTS


def plot_throughput(run: RunData | Path | str, out_dir: Path | None = None) -> Path | None:
    """Throughput per benchmark (median, min-max over repeats) and pipeline efficiency beside it.

    Both panels share the benchmark axis, so a fast but inefficient schedule
    (or the reverse) is visible in one glance.
    """
    run = _as_run(run)
    thr = run.rows("throughput").dropna(subset=["value"])
    thr = thr[~thr["benchmark"].isin(run.recurrent_benchmarks())]  # chars/s: their own section
    if thr.empty:
        return None
    order = [b for b in run.benchmarks() if b in set(thr["benchmark"])]
    eff = run.rows("pipeline_efficiency").dropna(subset=["value"])
    eff = eff[eff["benchmark"].isin(order)]
    colours = palette(run.results["mode"])
    panels = 2 if not eff.empty else 1
    with styled():
        fig = figure(6.5 + 4.0 * (panels - 1), bar_height(len(order)))
        axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
        sns.barplot(
            data=thr, y="benchmark", x="value", hue="mode", order=order, palette=colours,
            estimator="median", errorbar=_SPREAD, dodge=False, ax=axes[0], capsize=0.3,
        )  # fmt: skip
        axes[0].set_xlabel("throughput (samples/s)")
        axes[0].set_ylabel("")
        axes[0].set_title("Throughput: median, whiskers min-max over repeats")
        # The legend sits outside the last panel so it never hides a bar.
        legend_ax = axes[-1] if panels == 2 else axes[0]
        if panels == 2:
            handles, labels = axes[0].get_legend_handles_labels()
            axes[0].get_legend().remove()
            legend_ax.legend(handles, labels)
        if panels == 2:
            sns.barplot(
                data=eff, y="benchmark", x="value", hue="mode", order=order, palette=colours,
                estimator="median", errorbar=_SPREAD, dodge=False, ax=axes[1], legend=False,
                capsize=0.3,
            )  # fmt: skip
            axes[1].axvline(1.0, color="black", linewidth=0.8, linestyle="--")
            axes[1].set_xlim(0, max(1.05, float(eff["value"].max()) * 1.05))
            axes[1].set_xlabel("pipeline efficiency (throughput / ideal)")
            axes[1].set_title("Pipeline efficiency")
        sns.move_legend(legend_ax, "upper left", bbox_to_anchor=(1.01, 1), title="mode",
                        frameon=False, fontsize="small")  # fmt: skip
        return save(fig, _plots_dir(run, out_dir) / "throughput.png")


def idle_frame(run: RunData) -> pd.DataFrame:
    """Mean over repeats of each part of a stage's time, one row per benchmark and stage."""
    parts = [metric for metric, _ in _IDLE_PARTS]
    rows = run.results[(run.results["metric"].isin(parts)) & (run.results["stage"] >= 0)]
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(
        index=["benchmark", "stage"], columns="metric", values="value", aggfunc="mean"
    )
    table = table.reindex(columns=parts).fillna(0.0).reset_index()
    order = {b: i for i, b in enumerate(run.benchmarks())}
    table["_order"] = table["benchmark"].map(order)
    table = table.sort_values(["_order", "stage"]).drop(columns="_order")
    return table.rename(columns=dict(_IDLE_PARTS)).reset_index(drop=True)


def plot_lock_idle(run: RunData | Path | str, out_dir: Path | None = None) -> Path | None:
    """Where each stage's time went: stacked busy / wait activation / wait gradient / comm / other.

    One bar per benchmark and stage, so the forward and update locks of a
    locked schedule show as the waits that DNI and unlock are meant to remove.
    """
    run = _as_run(run)
    table = idle_frame(run)
    if table.empty:
        return None
    labels = [f"{b}  · s{int(s)}" for b, s in zip(table["benchmark"], table["stage"], strict=True)]
    y = np.arange(len(table))
    with styled():
        fig = figure(9.0, bar_height(len(table), per_bar=0.26))
        ax = fig.subplots()
        left = np.zeros(len(table))
        for _, name in _IDLE_PARTS:
            values = table[name].to_numpy(dtype=float)
            ax.barh(y, values, left=left, color=KIND_COLOURS[name], label=name, height=0.8)
            left += values
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max(1.0, float(left.max())))
        ax.set_xlabel("fraction of the measured window (mean over repeats)")
        ax.set_title("Per-stage time split: busy vs lock idle")
        ax.margins(y=0.01)
        fig.legend(ncols=5, loc="outside lower center", fontsize="small", frameon=False)
        return save(fig, _plots_dir(run, out_dir) / "lock_idle.png")


def _band(curves: pd.DataFrame, x: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median and min-max of test accuracy over repeats on a common ``x`` grid.

    Repeats evaluate at different wall-clock seconds, so each one is
    interpolated onto a shared grid over the range all repeats cover before
    the spread is taken.
    """
    per_repeat = [g.sort_values(x) for _, g in curves.groupby("repeat") if len(g)]
    lo = max(float(g[x].min()) for g in per_repeat)
    hi = min(float(g[x].max()) for g in per_repeat)
    if hi <= lo:  # repeats do not overlap: fall back to the first one
        g = per_repeat[0]
        acc = g["test_accuracy"].to_numpy(dtype=float)
        return g[x].to_numpy(dtype=float), acc, acc, acc
    grid = np.linspace(lo, hi, 120)
    stack = np.vstack(
        [np.interp(grid, g[x].to_numpy(dtype=float), g["test_accuracy"].to_numpy(dtype=float))
         for g in per_repeat]
    )  # fmt: skip
    return grid, np.median(stack, axis=0), stack.min(axis=0), stack.max(axis=0)


def plot_learning_curves(run: RunData | Path | str, out_dir: Path | None = None) -> Path | None:
    """Test accuracy against samples seen and against seconds, one line per benchmark.

    Against samples is data efficiency (does DNI learn as much per example?);
    against seconds is what a user waits for. With several repeats (seeds) the
    band spans them, so a gap smaller than the band is not a difference.
    """
    run = _as_run(run)
    curves = run.curves.dropna(subset=["test_accuracy"])
    if curves.empty:
        return None
    order = [b for b in dict.fromkeys(curves["benchmark"])]
    colours = palette(order)
    with styled():
        fig = figure(11.0, 4.4)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, x, label in ((axes[0], "samples", "samples seen"), (axes[1], "seconds", "seconds")):
            for bench in order:
                data = curves[curves["benchmark"] == bench].dropna(subset=[x])
                if data.empty:
                    continue
                colour = colours[bench]
                if data["repeat"].nunique() > 1:
                    grid, mid, lo, hi = _band(data, x)
                    ax.fill_between(grid, lo, hi, color=colour, alpha=0.2, linewidth=0)
                    ax.plot(grid, mid, color=colour, label=bench)
                else:
                    data = data.sort_values(x)
                    ax.plot(data[x], data["test_accuracy"], color=colour, label=bench, marker=".")
            ax.set_xlabel(label)
            ax.set_title(f"Test accuracy vs {label}")
        axes[0].set_ylabel("test accuracy")
        axes[1].legend(fontsize="small", loc="lower right")
        if curves.groupby("benchmark")["repeat"].nunique().max() > 1:
            fig.suptitle("Lines: median over repeats (seeds); bands: min-max", fontsize="small")
        return save(fig, _plots_dir(run, out_dir) / "learning_curves.png")


def plot_memory(run: RunData | Path | str, out_dir: Path | None = None) -> Path | None:
    """Peak resident memory of each stage's process per benchmark (median, min-max over repeats).

    Shows what stashing activations (GPipe) or holding SG/SI modules costs each stage.
    """
    run = _as_run(run)
    rss = run.rows("peak_rss", stage=None)
    rss = rss[rss["stage"] >= 0].dropna(subset=["value"])
    if rss.empty:
        return None
    rss = rss.assign(stage=[f"stage {int(s)}" for s in rss["stage"]])
    order = [b for b in run.benchmarks() if b in set(rss["benchmark"])]
    stages = sorted(rss["stage"].unique(), key=lambda s: int(s.split()[1]))
    with styled():
        fig = figure(8.0, bar_height(len(order) * max(1, len(stages) // 2 + 1), per_bar=0.22))
        ax = fig.subplots()
        sns.barplot(
            data=rss, y="benchmark", x="value", hue="stage", order=order, hue_order=stages,
            estimator="median", errorbar=_SPREAD, ax=ax, palette="crest", capsize=0.2,
        )  # fmt: skip
        ax.set_xlabel("peak RSS (MiB)")
        ax.set_ylabel("")
        ax.set_title("Peak memory per stage (median, whiskers min-max over repeats)", pad=24)
        ax.margins(y=0.01)
        sns.move_legend(ax, "lower center", bbox_to_anchor=(0.5, 1.02), ncols=len(stages),
                        title=None, frameon=False, fontsize="small")  # fmt: skip
        return save(fig, _plots_dir(run, out_dir) / "memory.png")


def make_plots(
    run: RunData | Path | str, out_dir: Path | None = None, hooks: ReportHooks | None = None
) -> dict[str, Path]:
    """Every run figure that has data, keyed by name (``PLOT_NAMES`` order), saved in ``out_dir``.

    ``out_dir`` defaults to ``RUN_DIR/plots``; ``hooks`` add the studies' figures
    (the pipeline study's ``timeline``).
    """
    run = _as_run(run)
    makers = {
        "throughput": plot_throughput,
        "lock_idle": plot_lock_idle,
        "learning_curves": plot_learning_curves,
        "memory": plot_memory,
        **(hooks.plots if hooks is not None else {}),
    }
    out: dict[str, Path] = {}
    for name in [*PLOT_NAMES, *(n for n in makers if n not in PLOT_NAMES)]:
        if name not in makers:
            continue
        path = makers[name](run, out_dir)
        if path is not None:
            out[name] = path
    return out


def plot_compare(
    runs: list[RunData],
    metric: str,
    benchmarks: list[str],
    path: Path,
    xlabel: str,
) -> Path | None:
    """One panel per run (labelled with its machine), bars of ``metric`` per benchmark.

    Panels share both axes, so the same benchmark can be read across runs at
    one glance; ``None`` when no run has the metric for ``benchmarks``.
    """
    frames = []
    for run in runs:
        rows = run.rows(metric).dropna(subset=["value"])
        rows = rows[rows["benchmark"].isin(benchmarks)]
        if not rows.empty:
            frames.append(rows.assign(run=f"{run.label} ({run.machine})"))
    if not frames:
        return None
    data = pd.concat(frames, ignore_index=True)
    order = [b for b in benchmarks if b in set(data["benchmark"])]
    panels = [f"{run.label} ({run.machine})" for run in runs]
    colours = palette(data["mode"])
    with styled():
        fig = figure(2.0 + 3.6 * len(panels), bar_height(len(order)))
        axes = fig.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False)[0]
        for index, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
            part = data[data["run"] == panel]
            if part.empty:
                ax.set_title(f"{panel}\n(no data)")
                continue
            sns.barplot(
                data=part, y="benchmark", x="value", hue="mode", order=order, palette=colours,
                estimator="median", errorbar=_SPREAD, dodge=False, ax=ax, capsize=0.3,
                legend=index == len(panels) - 1,
            )  # fmt: skip
            ax.set_title(panel)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("")
        if axes[-1].get_legend() is not None:
            sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.01, 1), title="mode",
                            frameon=False, fontsize="small")  # fmt: skip
        return save(fig, path)
