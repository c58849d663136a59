"""Predicted against measured throughput, one point per benchmark: the simulator's scorecard.

The validation and cross-check tables give every number, but only a figure
shows at a glance whether the errors are scattered or systematic (all points
above y = x: the simulator is optimistic) and which regimes drift. Each
compared benchmark is a point coloured by regime, the y = x line is a perfect
prediction, the shaded band is the accepted error (two shades when balanced
and straggler benchmarks, with different targets, are mixed) and a benchmark
outside its target is circled and named.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from dnibench.report.style import figure, palette, save, styled
from dnibench.report.verdict import Verdict
from dnibench.rundir.layout import PLOTS
from dnibench.simulate.validate import JUDGED, ValidationRow

__all__ = ["PLOT_FILE", "compared_rows", "plot_predicted_vs_measured"]

#: Where the figure goes, relative to the report directory (and so to report.md).
PLOT_FILE = f"{PLOTS}/predicted_vs_measured.png"
#: Above this max/min throughput ratio the axes turn logarithmic, so slow benchmarks stay legible.
_LOG_ABOVE = 20.0
_MISS_COLOUR = "crimson"
#: Spacing of stacked miss names, as a fraction of the axes' height.
_LINE = 0.06
#: Plain tick labels: the report style turns mathtext off, which breaks log-axis defaults.
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def compared_rows(rows: Sequence[ValidationRow]) -> list[ValidationRow]:
    """The rows with both a prediction and a measurement (verdict met or missed)."""
    return [r for r in rows if r.verdict in JUDGED]


def _name_misses(ax: Axes, missed: Sequence[ValidationRow]) -> None:
    """Name each missed benchmark in the empty corner on its side of y = x, with a leader line.

    The corners far from the diagonal (top left: over-predicted, bottom right:
    under-predicted) hold no points, so the names there never hide one.
    """
    above = [r for r in missed if r.predicted >= r.measured]
    below = [r for r in missed if r.predicted < r.measured]
    for rows, corner, step, ha, va in (
        (above, (0.03, 0.96), -_LINE, "left", "top"),
        (below, (0.97, 0.04), _LINE, "right", "bottom"),
    ):
        for line, row in enumerate(sorted(rows, key=lambda r: -abs(r.error))):
            ax.annotate(
                f"{row.benchmark} ({row.error:+.0%})",
                (row.measured, row.predicted),
                xytext=(corner[0], corner[1] + step * line),
                textcoords="axes fraction",
                ha=ha,
                va=va,
                fontsize="x-small",
                color=_MISS_COLOUR,
                arrowprops={"arrowstyle": "-", "color": _MISS_COLOUR, "lw": 0.6, "alpha": 0.7},
            )


def plot_predicted_vs_measured(
    rows: Sequence[ValidationRow], path: Path, title: str
) -> Path | None:
    """Scatter of predicted against measured throughput with y = x and the target band.

    Returns the saved PNG's path, or ``None`` when no benchmark was compared
    (nothing to draw, so the report leaves the figure out).
    """
    compared = compared_rows(rows)
    if not compared:
        return None
    measured = np.array([r.measured for r in compared], dtype=float)
    predicted = np.array([r.predicted for r in compared], dtype=float)
    targets = sorted({r.target for r in compared}, reverse=True)
    low = float(min(measured.min(), predicted.min())) * (1 - targets[0]) * 0.95
    high = float(max(measured.max(), predicted.max())) * (1 + targets[0]) * 1.02
    log = high / low > _LOG_ABOVE
    grid = np.geomspace(low, high, 200) if log else np.linspace(low, high, 200)
    colours = palette(r.mode for r in compared)
    with styled():
        fig = figure(7.2, 5.0)
        ax = fig.subplots()
        for target in targets:
            ax.fill_between(
                grid,
                grid * (1 - target),
                grid * (1 + target),
                color="grey",
                alpha=0.15,
                linewidth=0,
                label=f"±{target:.0%} target",
            )
        ax.plot(grid, grid, color="black", linewidth=0.9, linestyle="--", label="y = x")
        for mode in dict.fromkeys(r.mode for r in compared):
            chosen = [i for i, r in enumerate(compared) if r.mode == mode]
            ax.scatter(
                measured[chosen],
                predicted[chosen],
                color=colours[mode],
                s=36,
                edgecolors="white",
                linewidths=0.6,
                label=mode,
                zorder=3,
            )
        missed = [i for i, r in enumerate(compared) if r.verdict == Verdict.MISSED]
        if missed:
            ax.scatter(
                measured[missed],
                predicted[missed],
                s=170,
                facecolors="none",
                edgecolors=_MISS_COLOUR,
                linewidths=1.5,
                label="missed target",
                zorder=4,
            )
            _name_misses(ax, [compared[i] for i in missed])
        if log:  # scales first: setting one resets its axis's tick formatters
            ax.set_xscale("log")
            ax.set_yscale("log")
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_formatter(_PLAIN)
                axis.set_minor_formatter(NullFormatter())
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("measured throughput (samples/s)")
        ax.set_ylabel("predicted throughput (samples/s)")
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False, fontsize="small")
        return save(fig, path)
