"""The copy-task table, laid out like the DNI paper's: rows task, columns T, cells tbptt / dni.

Jaderberg et al. (2017, table 1) report, for Copy and Repeat Copy, the
longest sequence length each regime learnt at each truncation T. This module
builds the same table from a run's tidy results: each cell holds the longest
solved length of tbptt and of dni-tbptt as the median over seeds with the
min to max range, so a reader sees both the figure and how far seeds
disagree. A second table of the same shape says how many seeds stalled (no
length solved in the last half of the budget, see :mod:`dnibench.studies.recurrent.copy_bench`): a
stalled cell is the regime's limit at this budget; a cell that did not stall
is bounded by the budget instead, and would grow with a longer one.

It reads only result rows and the benchmarks' configurations, so the rnn
report (:mod:`dnibench.studies.recurrent.report.section`) calls :func:`copy_lines` and needs
nothing else of this module.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dnibench.report.tables import MISSING
from dnibench.report.verdict import Target
from dnibench.stats import paired
from dnibench.studies.seeds import MIN_SEEDS, seed_values

TASK_LABELS = {"copy": "Copy", "repeat-copy": "Repeat Copy"}
CELL_REGIMES = ("tbptt", "dni-tbptt")
FRAME_COLUMNS = ["task", "regime", "truncation", "repeat", "longest_solved", "stalled"]

PAPER_NOTE = (
    "How this compares with the paper. The tasks are Graves et al.'s (2014) copy and "
    "repeat-copy as the DNI paper (Jaderberg et al. 2017, section 3.1) uses them: read N "
    "symbols and a delimiter, then emit the N symbols (repeat-copy: also read a repeat "
    "count, emit the symbols that many times, then an end marker). Differences: Graves et "
    "al. use random binary vectors and a normalised scalar repeat count; here a symbol is "
    "one of {symbols} characters (one-hot), the repeat count is one input token, and the "
    "answer is a softmax over the symbols (and the end marker), scored at the answer "
    "positions only, in bits per output character, which is the unit of the DNI paper's "
    "criterion. The curriculum follows the DNI paper: training starts at length 1, a "
    "length counts as solved once the mean error over the last {window} batches is below "
    "{bits} bits per output character, and then the length grows by one; repeat-copy "
    "grows its repeat count with the length (length N draws counts from 1 to "
    "min(N, {repeats})). The figure is the longest length solved within the budget, as in "
    "the paper's table. The budget here is small, so the lengths are not comparable with "
    "the paper's in absolute terms; what carries over is the comparison within a column "
    "(tbptt against dni at the same T) and along a row (whether a longer T helps)."
)


class CopyBench(Protocol):
    """What the table needs of a copy benchmark: its name, configuration and regime."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> dict[str, Any]: ...

    @property
    def regime(self) -> str: ...

    @property
    def truncation(self) -> int: ...


def copy_frame(results: pd.DataFrame, copies: Sequence[CopyBench]) -> pd.DataFrame:
    """One row per copy run: task, regime, T, repeat, longest solved, stalled (NaN if unknown)."""
    rows = []
    for bench in copies:
        solved = seed_values(results, bench.name, "longest_solved")
        stalled = seed_values(results, bench.name, "stalled")
        for repeat, value in enumerate(solved):
            rows.append(
                {
                    "task": bench.spec.get("task"),
                    "regime": bench.regime,
                    "truncation": bench.truncation,
                    "repeat": repeat,
                    "longest_solved": value,
                    "stalled": stalled[repeat] if repeat < stalled.size else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def solved_cell(values: pd.Series) -> str:
    """``median (min-max)`` of the longest solved lengths of one cell's seeds."""
    x = values.dropna().to_numpy(dtype=float)
    if x.size == 0:
        return MISSING
    return f"{np.median(x):g} ({x.min():g}-{x.max():g})"


def stalled_cell(values: pd.Series) -> str:
    """``stalled/seeds`` of one cell (the dash when no run recorded it)."""
    x = values.dropna().to_numpy(dtype=float)
    return f"{int(x.sum())}/{x.size}" if x.size else MISSING


def _layout(frame: pd.DataFrame, column: str, cell: Any) -> list[str]:
    """Rows task, columns T, cells ``tbptt / dni`` of ``cell`` over ``column``."""
    tasks = [t for t in TASK_LABELS if t in set(frame["task"])]
    tasks += [t for t in dict.fromkeys(frame["task"]) if t not in tasks]
    truncations = sorted(set(frame["truncation"]))
    lines = [
        "| task | " + " | ".join(f"T = {t}" for t in truncations) + " |",
        "|---|" + "---:|" * len(truncations),
    ]
    for task in tasks:
        cells = []
        for truncation in truncations:
            here = frame[(frame["task"] == task) & (frame["truncation"] == truncation)]
            parts = [cell(here[here["regime"] == regime][column]) for regime in CELL_REGIMES]
            cells.append(" / ".join(parts))
        lines.append(f"| {TASK_LABELS.get(task, task)} | " + " | ".join(cells) + " |")
    return lines


def _settings(copies: Sequence[CopyBench]) -> Mapping[str, Any]:
    """The curriculum settings the paragraph quotes (the first benchmark's; they are shared)."""
    spec = copies[0].spec if copies else {}
    return {
        "symbols": spec.get("symbols", 8),
        "window": spec.get("solve_window", 5),
        "bits": spec.get("solve_bits", 0.15),
        "repeats": spec.get("max_repeats", 2),
    }


def copy_lines(
    results: pd.DataFrame, copies: Sequence[CopyBench]
) -> tuple[list[str], pd.DataFrame]:
    """Markdown of the copy tables and the paper paragraph, and the per-run frame behind them.

    The frame has the columns ``task, regime, truncation, repeat,
    longest_solved, stalled`` (what :func:`~dnibench.studies.recurrent.report.targets.copy_targets`
    and the copy plot read). No lines when no copy benchmark has results.
    """
    frame = copy_frame(results, copies)
    if frame.empty:
        return [], frame
    seeds = frame.groupby(["task", "regime", "truncation"])["repeat"].count()
    settings = _settings(copies)
    width, chars = (copies[0].spec.get(k) for k in ("width", "chars"))
    low, high = int(seeds.min()), int(seeds.max())
    per_cell = f"{low} seeds" if low == high else f"{low} to {high} seeds"
    budget = f"{chars:,}" if isinstance(chars, int) else str(chars)
    lines = [
        "### Copy and repeat-copy: longest solved length",
        "",
        f"Each cell: tbptt / dni-tbptt, the longest length solved as the median over seeds "
        f"with (min-max); {per_cell} per cell; an LSTM of {width} units, {budget} training "
        "characters per run.",
        "",
        *_layout(frame, "longest_solved", solved_cell),
        "",
        "Seeds that stalled (tbptt / dni-tbptt): no length solved in the last half of the "
        "budget, so the figure is the regime's limit here; where none stalled the curriculum "
        "was still growing and the figure is bounded by the budget.",
        "",
        *_layout(frame, "stalled", stalled_cell),
        "",
        PAPER_NOTE.format(**settings),
        "",
    ]
    return lines, frame


COPY_HINT = (
    "a larger character budget for the curriculum, or a larger sg_lr so the SG learns the "
    "long-range signal sooner"
)


def _by_seed(rows: pd.DataFrame) -> dict[Hashable, float]:
    """Seed (repeat) -> longest solved length, NaN left out."""
    return {
        int(r): float(v)
        for r, v in zip(rows["repeat"], rows["longest_solved"], strict=True)
        if not np.isnan(v)
    }


def truncation_premise(frame: pd.DataFrame, task: str) -> str | None:
    """None when tbptt's longest solved length grows with T on ``task``, else why not.

    "DNI copies longer than tbptt" means something only against a tbptt that
    shows the truncation effect the comparison is about: its median longest
    solved length at the largest T must exceed the one at the smallest T.
    """
    base = frame[(frame["task"] == task) & (frame["regime"] == "tbptt")]
    medians = base.groupby("truncation")["longest_solved"].median().dropna()
    if len(medians) < 2:
        return "tbptt was measured at fewer than 2 truncations"
    first, last = medians.iloc[0], medians.iloc[-1]
    if not last > first:
        seen = ", ".join(f"{v:g}" for v in medians.to_numpy())
        return (
            f"tbptt shows no truncation effect (median longest solved {seen} at "
            f"T = {', '.join(str(t) for t in medians.index)})"
        )
    return None


def copy_targets(frame: pd.DataFrame) -> list[Target]:
    """dni-tbptt against tbptt on each (task, T): longest solved, paired by seed, goal > 0.

    Per seed, dni's longest solved length minus tbptt's (the seeds share
    initialisation and data across regimes); met when the interval of those
    differences lies wholly above 0. "Not testable" where tbptt's own length
    does not grow with T (:func:`truncation_premise`) or fewer than
    :data:`~dnibench.studies.seeds.MIN_SEEDS` seeds pair up.
    """
    targets = []
    for (task, truncation), group in frame.groupby(["task", "truncation"], sort=False):
        dni = _by_seed(group[group["regime"] == "dni-tbptt"])
        base = _by_seed(group[group["regime"] == "tbptt"])
        if not dni or not base:
            continue
        gain = paired(dni, base, relation="difference")
        why = truncation_premise(frame, str(task))
        if why is None and len(gain.per_key) < MIN_SEEDS:
            why = f"needs {MIN_SEEDS} seeds of both regimes, paired, has {len(gain.per_key)}"
        targets.append(
            Target(
                f"{task} T={truncation}: longest solved, dni minus tbptt per seed",
                gain.interval.estimate,
                0.0,
                ">",
                COPY_HINT,
                "+.1f",
                why,
                interval=gain.interval,
            )
        )
    return targets


__all__ = [
    "FRAME_COLUMNS", "PAPER_NOTE", "CopyBench", "copy_frame", "copy_lines", "copy_targets",
    "truncation_premise",
]  # fmt: skip
