"""Figures of the rnn report: BPC against characters and seconds, longest solved copy lengths.

Every character-LM benchmark goes on one figure (two panels sharing the BPC
axis): the line is the mean over repeats (seeds) at each evaluation, the
band spans min to max. Repeats evaluate at the same character counts, so the
left panel needs no interpolation; on the right each evaluation sits at the
mean of the repeats' seconds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dnibench.report.style import figure, palette, save, styled


def _per_eval(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max BPC and mean seconds per evaluation (one row per character count)."""
    grouped = frame.groupby("chars")
    return pd.DataFrame(
        {
            "seconds": grouped["seconds"].mean(),
            "mean": grouped["test_bpc"].mean(),
            "low": grouped["test_bpc"].min(),
            "high": grouped["test_bpc"].max(),
        }
    ).reset_index()


def plot_bpc(curves: pd.DataFrame, out_dir: Path) -> Path | None:
    """BPC on held-out text against characters seen and against training seconds."""
    lm = curves[curves["kind"] == "rnn"].dropna(subset=["test_bpc"])
    if lm.empty:
        return None
    order = list(dict.fromkeys(lm["benchmark"]))
    colours = palette(order)
    with styled():
        fig = figure(11.0, 4.6)
        axes = fig.subplots(1, 2, sharey=True)
        for bench in order:
            summary = _per_eval(lm[lm["benchmark"] == bench])
            for ax, x in ((axes[0], "chars"), (axes[1], "seconds")):
                ax.fill_between(
                    summary[x],
                    summary["low"],
                    summary["high"],
                    color=colours[bench],
                    alpha=0.2,
                    linewidth=0,
                )
                ax.plot(summary[x], summary["mean"], color=colours[bench], label=bench, marker=".")
        axes[0].set_xlabel("characters seen")
        axes[1].set_xlabel("training seconds")
        axes[0].set_ylabel("held-out bits per character")
        axes[0].set_title("BPC vs characters")
        axes[1].set_title("BPC vs seconds")
        # The first evaluation (untrained model) would flatten the interesting range.
        trained = lm[lm["chars"] > 0]["test_bpc"]
        if not trained.empty:
            axes[0].set_ylim(float(trained.min()) - 0.05, float(trained.quantile(0.9)) + 0.1)
        axes[1].legend(fontsize="small", loc="upper right")
        fig.suptitle("Lines: mean over seeds; bands: min-max over seeds", fontsize="small")
        return save(fig, out_dir / "rnn_bpc.png")


def plot_copy(solved: pd.DataFrame, out_dir: Path) -> Path | None:
    """Longest solved length against T, one panel per task, one line per regime.

    ``solved`` has columns task, regime, truncation, repeat, longest_solved.
    """
    if solved.empty:
        return None
    tasks = list(dict.fromkeys(solved["task"]))
    regimes = list(dict.fromkeys(solved["regime"]))
    colours = palette(regimes)
    with styled():
        fig = figure(5.0 * len(tasks), 3.8)
        axes = fig.subplots(1, len(tasks), squeeze=False)[0]
        for ax, task in zip(axes, tasks, strict=True):
            for regime in regimes:
                data = solved[(solved["task"] == task) & (solved["regime"] == regime)]
                if data.empty:
                    continue
                stats = data.groupby("truncation")["longest_solved"].agg(["median", "min", "max"])
                ax.fill_between(
                    stats.index,
                    stats["min"],
                    stats["max"],
                    color=colours[regime],
                    alpha=0.2,
                    linewidth=0,
                )
                ax.plot(
                    stats.index, stats["median"], marker="o", color=colours[regime], label=regime
                )
            ax.set_title(task)
            ax.set_xlabel("truncation T")
            ax.set_ylabel("longest solved length")
            ax.legend(fontsize="small")
        return save(fig, out_dir / "rnn_copy.png")


__all__ = ["plot_bpc", "plot_copy"]
