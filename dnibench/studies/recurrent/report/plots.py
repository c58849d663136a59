"""Figures of the rnn report: BPC curves, SG quality, longest solved copy lengths.

Every character-LM benchmark goes on one BPC figure: validation BPC (top)
and test BPC (bottom, the figure reported at the best-validation
checkpoint), against characters seen (left) and against training CPU
seconds (right). The line is the mean over repeats (seeds) at each
evaluation, the band spans min to max. Repeats evaluate at the same
character counts, so the left panels need no interpolation; on the right
each evaluation sits at the mean of the repeats' seconds. Runs made before
validation was scored have test curves only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.typing import ColorType

from dnibench.report.style import figure, palette, save, styled

#: SG-quality columns of rnn_curves.csv and their axis labels.
SG_PANELS = (
    ("sg_cosine", "cosine(SG, true gradient)"),
    ("sg_relative_error", "relative error"),
    ("sg_norm_ratio", "|SG| / |true gradient|"),
    ("sg_carried_ratio", "|SG part| / |within-chunk part|"),
)


def _per_eval(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, min and max of ``column`` and mean seconds per evaluation."""
    grouped = frame.groupby("chars")
    return pd.DataFrame(
        {
            "seconds": grouped["seconds"].mean(),
            "mean": grouped[column].mean(),
            "low": grouped[column].min(),
            "high": grouped[column].max(),
        }
    ).reset_index()


def _band(
    ax: Axes,
    x: pd.Series | pd.Index,
    middle: pd.Series,
    low: pd.Series,
    high: pd.Series,
    colour: ColorType,
    label: str,
    marker: str | None = None,
) -> None:
    """A line through ``middle`` (mean or median over seeds) over a band from low to high."""
    ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.plot(x, middle, color=colour, label=label, marker=marker)


def _spread(summary: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The mean, min and max columns of a :func:`_per_eval` summary."""
    return summary["mean"], summary["low"], summary["high"]


def plot_bpc(curves: pd.DataFrame, out_dir: Path) -> Path | None:
    """Validation and test BPC against characters seen and against training seconds."""
    lm = curves[curves["kind"] == "rnn"].dropna(subset=["test_bpc"])
    if lm.empty:
        return None
    splits = [c for c in ("valid_bpc", "test_bpc") if c in lm and lm[c].notna().any()]
    order = list(dict.fromkeys(lm["benchmark"]))
    colours = palette(order)
    with styled():
        fig = figure(11.0, 3.9 * len(splits))
        axes = fig.subplots(len(splits), 2, sharey="row", squeeze=False)
        for row, column in enumerate(splits):
            for bench in order:
                summary = _per_eval(lm[lm["benchmark"] == bench], column)
                for ax, x in ((axes[row][0], "chars"), (axes[row][1], "seconds")):
                    _band(ax, summary[x], *_spread(summary), colours[bench], bench, marker=".")
            name = "validation" if column == "valid_bpc" else "test"
            axes[row][0].set_ylabel(f"{name} bits per character")
            axes[row][0].set_title(f"{name} BPC vs characters")
            axes[row][1].set_title(f"{name} BPC vs training CPU seconds")
            # The first evaluation (untrained model) would flatten the interesting range.
            trained = lm[lm["chars"] > 0][column]
            if not trained.empty:
                axes[row][0].set_ylim(
                    float(trained.min()) - 0.05, float(trained.quantile(0.9)) + 0.1
                )
        axes[-1][0].set_xlabel("characters seen")
        axes[-1][1].set_xlabel("training CPU seconds")
        axes[0][1].legend(fontsize="small", loc="upper right")
        fig.suptitle("Lines: mean over seeds; bands: min-max over seeds", fontsize="small")
        return save(fig, out_dir / "rnn_bpc.png")


def plot_sg_quality(curves: pd.DataFrame, out_dir: Path) -> Path | None:
    """The synthetic gradient's quality against characters, one line per DNI benchmark."""
    present = [(c, label) for c, label in SG_PANELS if c in curves]
    if not present:
        return None
    lm = curves[(curves["kind"] == "rnn") & (curves["chars"] > 0)]
    lm = lm.dropna(subset=[present[0][0]])
    if lm.empty:
        return None
    order = list(dict.fromkeys(lm["benchmark"]))
    colours = palette(order)
    with styled():
        fig = figure(11.0, 7.0)
        axes = fig.subplots(2, 2, sharex=True).ravel()
        for ax, (column, label) in zip(axes, present, strict=False):
            for bench in order:
                summary = _per_eval(lm[lm["benchmark"] == bench], column)
                _band(ax, summary["chars"], *_spread(summary), colours[bench], bench)
            ax.set_ylabel(label)
            if column in ("sg_norm_ratio", "sg_carried_ratio"):
                ax.set_yscale("log")
        for ax in axes[2:]:
            ax.set_xlabel("characters seen")
        axes[0].legend(fontsize="small")
        fig.suptitle(
            "Synthetic gradient at a chunk boundary against the discounted true gradient "
            "(held-out windows; mean over seeds, band min-max)",
            fontsize="small",
        )
        return save(fig, out_dir / "rnn_sg_quality.png")


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
                _band(ax, stats.index, stats["median"], stats["min"], stats["max"],
                      colours[regime], regime, marker="o")  # fmt: skip
            ax.set_title(task)
            ax.set_xlabel("truncation T")
            ax.set_ylabel("longest solved length")
            ax.legend(fontsize="small")
        return save(fig, out_dir / "rnn_copy.png")


__all__ = ["plot_bpc", "plot_copy", "plot_sg_quality"]
