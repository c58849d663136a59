"""Summary tables of a run as plain cells, rendered later as Markdown or HTML.

Tables are built once as strings in cells (:class:`Table`) so the Markdown
and HTML reports show exactly the same figures, formatted the same way; each
renderer only escapes and lays them out. Medians are taken over repeats:
with a handful of repeats one slow outlier should not move the headline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from dnibench.report.hooks import ReportHooks
from dnibench.rundir.reader import RunData

__all__ = [
    "Table",
    "environment_table",
    "fmt",
    "pipeline_table",
    "status_table",
    "training_table",
]

MISSING = "—"
_LOCK_IDLE = ("wait_activation_fraction", "wait_gradient_fraction")
_RECORDED = ("busy_fraction", *_LOCK_IDLE, "comm_fraction")


@dataclass
class Table:
    """Header, rows of already formatted cells, and per-column alignment (``l``/``r``)."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    align: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.align:
            self.align = ["l"] * len(self.columns)


def fmt(value: float, spec: str = ".3f") -> str:
    """``value`` formatted with ``spec``, or an em dash when it is missing (NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return format(value, spec)


def _stage_sum(run: RunData, bench: str, metrics: tuple[str, ...], stage: int) -> float:
    """Sum of ``metrics`` of one stage (each a mean over repeats); NaN if none was recorded."""
    parts = [run.value(bench, m, stage, how="mean") for m in metrics]
    present = [p for p in parts if not math.isnan(p)]
    return sum(present) if present else math.nan


def _per_stage(
    run: RunData,
    bench: str,
    metrics: tuple[str, ...],
    stages: list[int],
    recorded: tuple[str, ...] = _RECORDED,
) -> str:
    """``metrics`` per stage joined as ``s0 / s1 / ...``; a dash where nothing was recorded.

    A stage whose ``recorded`` fractions are all zero recorded none of those
    spans, so zeros there would claim something never measured: with spans
    off, busy, waits and comm are all zero; a PyTorch peer whose waits could
    not be wrapped (older reports, or a torch without ``_wait_batch_p2p``)
    records compute spans but no wait or communication span at all, and a
    0.00 lock idle would read as "never waited".
    """
    values = []
    for stage in stages:
        seen = _stage_sum(run, bench, recorded, stage)
        values.append(_stage_sum(run, bench, metrics, stage) if seen > 0 else math.nan)
    return " / ".join(fmt(v, ".2f") for v in values) if values else MISSING


def _rss_by_stage(run: RunData, bench: str, stages: list[int]) -> str:
    """Peak resident memory of every stage's process, median over repeats, in MiB."""
    values = [run.value(bench, "peak_rss", s) for s in stages]
    return " / ".join(fmt(v, ".0f") for v in values) if values else MISSING


def pipeline_table(run: RunData, hooks: ReportHooks | None = None) -> Table | None:
    """One row per pipeline benchmark: throughput, both efficiencies, per-stage busy/idle, memory.

    "efficiency" is against the pipeline's own slowest stage; "HW-limit
    efficiency" against what its cores could do one thread each
    (:mod:`~dnibench.studies.pipeline.hardware_limit`, plugged in through
    ``hooks``; a dash without them), so the single-process rows in the same
    table show where the hardware limit lies.
    """
    hardware_limit = hooks.hardware_limit if hooks is not None else None
    benches = run.pipeline_benchmarks()
    if not benches:
        return None
    table = Table(
        [
            "benchmark", "mode", "K", "m", "repeats", "throughput (samples/s)", "IQR",
            "efficiency", "HW-limit efficiency", "busy by stage", "lock idle by stage",
            "comm by stage", "peak RSS MiB by stage",
        ],
        align=["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    )  # fmt: skip
    waits_or_comm = (*_LOCK_IDLE, "comm_fraction")
    for bench in benches:
        rows = run.results[run.results["benchmark"] == bench]
        stages = run.stages(bench)
        table.rows.append(
            [
                bench,
                str(rows["mode"].iloc[0]),
                str(int(rows["stages"].max())),
                str(int(rows["microbatches"].max())),
                str(run.repeats(bench)),
                fmt(run.value(bench, "throughput"), ".0f"),
                fmt(run.value(bench, "throughput_iqr"), ".0f"),
                fmt(run.value(bench, "pipeline_efficiency"), ".3f"),
                fmt(hardware_limit(run, bench) if hardware_limit else math.nan, ".3f"),
                _per_stage(run, bench, ("busy_fraction",), stages),
                _per_stage(run, bench, _LOCK_IDLE, stages, waits_or_comm),
                _per_stage(run, bench, ("comm_fraction",), stages, waits_or_comm),
                _rss_by_stage(run, bench, stages),
            ]
        )
    return table


def _to_target(run: RunData, bench: str, metric: str, spec: str) -> str:
    """Median over the repeats that reached the target, with how many did when not all."""
    frame = run.rows(metric)
    values = frame[frame["benchmark"] == bench]["value"]
    if values.empty:
        return MISSING
    reached = values.dropna()
    if reached.empty:
        return "not reached"
    text = fmt(float(reached.median()), spec)
    if len(reached) < len(values):
        text += f" ({len(reached)}/{len(values)} reached)"
    return text


def _mean_sd(run: RunData, bench: str, metric: str, spec: str) -> str:
    frame = run.rows(metric)
    values = frame[frame["benchmark"] == bench]["value"].dropna().to_numpy(dtype=float)
    if values.size == 0:
        return MISSING
    if values.size == 1:
        return fmt(float(values[0]), spec)
    return f"{fmt(float(values.mean()), spec)} ± {fmt(float(np.std(values, ddof=1)), spec)}"


def training_table(run: RunData) -> Table | None:
    """One row per training benchmark: final test accuracy and loss, samples/seconds to target."""
    benches = run.training_benchmarks()
    if not benches:
        return None
    table = Table(
        [
            "benchmark", "mode", "K", "repeats", "final test accuracy", "final test loss",
            "samples to target", "seconds to target", "throughput (samples/s)",
        ],
        align=["l", "l", "r", "r", "r", "r", "r", "r", "r"],
    )  # fmt: skip
    for bench in benches:
        rows = run.results[run.results["benchmark"] == bench]
        table.rows.append(
            [
                bench,
                str(rows["mode"].iloc[0]),
                str(int(rows["stages"].max())),
                str(run.repeats(bench)),
                _mean_sd(run, bench, "test_accuracy", ".4f"),
                _mean_sd(run, bench, "test_loss", ".4f"),
                _to_target(run, bench, "samples_to_target", ".0f"),
                _to_target(run, bench, "seconds_to_target", ".2f"),
                fmt(run.value(bench, "throughput"), ".0f"),
            ]
        )
    return table


def status_table(run: RunData) -> Table | None:
    """Benchmarks whose status is not ok, each distinct outcome once with how often it happened."""
    status = run.status
    if status.empty or "status" not in status.columns:
        return None
    bad = status[status["status"].str.lower() != "ok"]
    if bad.empty:
        return None
    counts = bad.groupby(["benchmark", "status", "message"], sort=False).size()
    table = Table(["benchmark", "status", "times", "message"], align=["l", "l", "r", "l"])
    for (bench, state, message), times in counts.items():
        table.rows.append([str(bench), str(state), str(int(times)), str(message) or MISSING])
    return table


def _cell(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value)


def environment_table(fingerprint: Mapping[str, object]) -> Table | None:
    """The machine fingerprint as key / value rows."""
    if not fingerprint:
        return None
    table = Table(["key", "value"])
    table.rows = [[str(key), _cell(value)] for key, value in fingerprint.items()]
    return table
