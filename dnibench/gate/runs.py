"""Read a finished run directory back: its tidy rows, its failures, its samples.

The regression gate and the pytest-benchmark exporter both start from a run
directory written by :mod:`dnibench.bench.session`. Reading results.csv is
:mod:`dnibench.rundir.reader`'s job (one loader, one wording for every
way a run directory can be wrong); failures, samples and ratios live here.

Samples are what the statistics run on. The unit of replication is the
repeat: each repeat is a separate launch of the benchmark, and on a shared
machine most of the variance is between launches (measured: 15-20% run to
run on the quick suite's benchmarks, while windows within one run agree far
better). Per-step windows of one run are autocorrelated, so pooling them as
if independent makes the U test claim significance for run-to-run noise
(measured: 7 false alarms in 10 A/A pairs). ``unit="windows"`` is still
offered for runs whose windows are known to be independent.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.rundir.reader import read_config, read_results, status_rows

PIPELINE = -1  # the stage number of whole-pipeline rows
WINDOW_PREFIX = "throughput_window_"
_WINDOW = re.compile(rf"^{WINDOW_PREFIX}\d+$")


def load_results(run_dir: Path) -> pd.DataFrame:
    """The tidy rows of ``run_dir/results.csv`` (the shared loader, ``read_results``).

    Rows whose value is NaN (a metric that did not apply, e.g. CPU use of a
    rank that recorded no wall time) are kept; samples drop them later. A row
    cut off mid-write, a value that is not a number and an infinite value are
    errors naming the file and the line: the gate never decides on them.
    """
    return read_results(run_dir, finite=True)


@dataclass(frozen=True)
class RunFilter:
    """The ``--only`` globs a run was made with (none: every benchmark of its suites ran)."""

    side: str = "run"
    only: tuple[str, ...] = ()

    def left_out(self, benchmark: str) -> str:
        """Why ``benchmark`` was not run ("" when the filter does not explain its absence)."""
        if not self.only or any(fnmatch.fnmatch(benchmark, glob) for glob in self.only):
            return ""
        return f"{benchmark} not run in the {self.side} (--only {','.join(self.only)})"


def load_filter(run_dir: Path, side: str) -> RunFilter:
    """The run's ``--only`` filter, from its config (recorded, or read from its command)."""
    return RunFilter(side, read_config(run_dir).only)


def load_failures(run_dir: Path) -> dict[str, str]:
    """Benchmark name -> why it did not finish, from ``status.csv`` (empty if absent).

    Used only to explain a missing benchmark, so an unreadable status file is
    not an error: the gate still fails on the missing results themselves.
    """
    failures: dict[str, str] = {}
    for row in status_rows(Path(run_dir)):
        status = row.get("status", "").strip()
        name = row.get("benchmark")
        if name and status and status != "ok":
            message = row.get("message", "").strip()
            failures[name] = f"{status}: {message}" if message else status
        elif name and status == "ok":
            failures.pop(name, None)
    return failures


def benchmark_names(frame: pd.DataFrame) -> list[str]:
    """Benchmarks in the order the run first recorded them (the run's own order).

    Session-level rows carry no mode (the span-cost calibration a session
    measures once): they are not benchmarks, so a run written before or
    after they existed must not count them as missing or new.
    """
    return list(dict.fromkeys(frame.loc[frame["mode"] != "", "benchmark"]))


def _by_repeat(rows: pd.DataFrame) -> dict[int, np.ndarray]:
    groups: dict[int, np.ndarray] = {}
    for repeat, group in rows.groupby("repeat", sort=True):
        values = group["value"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            groups[int(repeat)] = values
    return groups


def window_samples(frame: pd.DataFrame, benchmark: str) -> tuple[dict[int, np.ndarray], bool]:
    """Per-repeat throughput windows of ``benchmark`` and whether they are windows.

    Falls back to the per-repeat ``throughput`` median (one value per repeat)
    when the run has no windows for this benchmark; the flag says which.
    """
    rows = frame[(frame["benchmark"] == benchmark) & (frame["stage"] == PIPELINE)]
    windows = _by_repeat(rows[rows["metric"].str.match(_WINDOW)])
    if windows:
        return windows, True
    return _by_repeat(rows[rows["metric"] == "throughput"]), False


SAMPLE_UNITS = ("repeats", "windows")


def metric_samples(
    frame: pd.DataFrame,
    benchmark: str,
    metric: str,
    stage: int = PIPELINE,
    unit: str = "repeats",
) -> dict[int, np.ndarray]:
    """Per-repeat samples of one metric of one benchmark at one stage.

    With ``unit="windows"``, ``throughput`` at the pipeline level means its
    per-step windows; otherwise every metric is its value in each repeat.
    """
    if unit == "windows" and metric == "throughput" and stage == PIPELINE:
        return window_samples(frame, benchmark)[0]
    return repeat_values(frame, benchmark, metric, stage)


def repeat_values(
    frame: pd.DataFrame, benchmark: str, metric: str, stage: int = PIPELINE
) -> dict[int, np.ndarray]:
    """The metric's own rows per repeat, windows never substituted.

    For ``throughput`` this is each repeat's median over windows, what the
    report prints, as opposed to :func:`metric_samples`' windows.
    """
    rows = frame[
        (frame["benchmark"] == benchmark) & (frame["metric"] == metric) & (frame["stage"] == stage)
    ]
    return _by_repeat(rows)


def metric_stages(frame: pd.DataFrame, metric: str) -> list[int]:
    """The stages a metric is recorded at in this run (``[-1]`` for pipeline metrics)."""
    stages = frame.loc[frame["metric"] == metric, "stage"].unique()
    return sorted(int(stage) for stage in stages)


def pooled(samples: dict[int, np.ndarray]) -> np.ndarray:
    """All repeats' samples as one array (repeat order)."""
    if not samples:
        return np.empty(0)
    return np.concatenate([samples[repeat] for repeat in sorted(samples)])
