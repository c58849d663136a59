"""The runtime targets, checked on a run of the ``pipeline`` suite.

``dnibench run`` / ``report`` put this table into the report of any run that
holds the pipeline grid's benchmarks. Everything is read back from the run
directory, so targets can be re-checked on a committed run without running
anything; ratios are taken between benchmarks measured side by side in it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from dnibench.instrument import gpipe_bubble
from dnibench.modes import (
    DNI,
    GPIPE,
    ONE_F_ONE_B,
    TORCH_1F1B,
    TORCH_GPIPE,
    UNLOCK,
    unlocked_mode_names,
)
from dnibench.report.verdict import Target
from dnibench.rundir.reader import read_config, read_results
from dnibench.stats import Interval
from dnibench.studies.pipeline.launch_pairs import compare_launches

#: The speed-up over naive model parallelism every decoupled regime must clear: a floor, not
#: the headline (the headline verdicts set each regime against the all-cores single process
#: and the best exact schedule, :mod:`dnibench.studies.pipeline.verdicts`).
SEQUENTIAL_FLOOR = 1.5


def load_results(run_dir: Path) -> pd.DataFrame:
    """The run's tidy rows (the shared loader: its errors name the file and the fix)."""
    return read_results(run_dir)


def _value(frame: pd.DataFrame, bench: str, metric: str, stage: int = -1) -> float:
    rows = frame[(frame.benchmark == bench) & (frame.metric == metric) & (frame.stage == stage)]
    return float(rows.value.median()) if len(rows) else math.nan


def targets(frame: pd.DataFrame, batch_sizes: dict[str, int] | None = None) -> list[Target]:
    """The pipeline runtime's targets, from a run of the ``pipeline`` grid.

    ``batch_sizes`` (samples per step by benchmark, from the run's config) turns a
    throughput into a step time for the estimated instrumentation overhead.
    """
    batch_sizes = batch_sizes or {}
    out: list[Target] = []
    for mode in unlocked_mode_names():
        for m in (1, 8):
            name = f"{mode}-m{m}"
            eff = _value(frame, name, "pipeline_efficiency")
            out.append(
                Target(f"{name} pipeline efficiency", eff, 0.90, ">=", detail="throughput / ideal")
            )
    for ours, theirs in ((GPIPE.name, TORCH_GPIPE.name), (ONE_F_ONE_B.name, TORCH_1F1B.name)):
        a = _value(frame, f"{ours}-m8", "throughput")
        b = _value(frame, f"{theirs}-m8", "throughput")
        ratio = compare_launches(frame, f"{ours}-m8", f"{theirs}-m8")
        out.append(
            Target(
                f"{ours} / {theirs} throughput (m=8)",
                ratio.interval.estimate,
                0.95,
                ">=",
                detail=f"{a:.0f} / {b:.0f} samples/s; interval {ratio.how}",
                interval=ratio.interval,
            )
        )
    for mode in (DNI.name, UNLOCK.name):
        a = _value(frame, f"{mode}-m1", "throughput")
        b = _value(frame, "sequential-m1", "throughput")
        ratio = compare_launches(frame, f"{mode}-m1", "sequential-m1")
        out.append(
            Target(
                f"floor: {mode} / sequential throughput (m=1)",
                ratio.interval.estimate,
                SEQUENTIAL_FLOOR,
                ">=",
                detail=f"{a:.0f} / {b:.0f} samples/s; interval {ratio.how}",
                interval=ratio.interval,
            )
        )
    stages = sorted(s for s in frame[frame.benchmark == "gpipe-m8"].stage.unique() if s >= 0)
    if stages:
        idle = []
        for stage in stages:
            idle.append(
                _value(frame, "gpipe-m8", "wait_activation_fraction", stage)
                + _value(frame, "gpipe-m8", "wait_gradient_fraction", stage)
            )
        measured = sum(idle) / len(idle)
        theory = gpipe_bubble(len(stages), 8)
        out.append(
            Target(
                "gpipe-m8 lock idle vs (K-1)/(m+K-1), absolute difference in points",
                abs(measured - theory) * 100,
                5.0,
                "<=",
                detail=f"measured {measured:.3f} (mean over stages) vs theory {theory:.3f}",
            )
        )
    cost_ns = _value(frame, "calibration", "span_cost")
    for mode in (GPIPE.name, DNI.name):
        name = f"{mode}-m8"
        on = _value(frame, name, "throughput")
        off = _value(frame, f"{name}-nospans", "throughput")
        ratio = compare_launches(frame, name, f"{name}-nospans")  # spans on / spans off
        i = ratio.interval
        overhead = Interval(
            (1 - i.estimate) * 100, (1 - i.high) * 100, (1 - i.low) * 100, i.level, i.method, i.n
        )
        out.append(
            Target(
                f"{name} instrumentation overhead, % (paired A/B, noisy)",
                overhead.estimate,
                3.0,
                "<=",
                detail=f"spans off {off:.0f}, on {on:.0f} samples/s (medians of repeats)"
                + (f"; interval {ratio.how}" if i.n else ""),
                interval=overhead,
            )
        )
        batch = batch_sizes.get(name, math.nan)
        per_step = max(
            (_value(frame, name, "spans_per_step", stage) for stage in _stages(frame, name)),
            default=math.nan,
        )
        step_s = batch / on if on else math.nan
        out.append(
            Target(
                f"{name} instrumentation overhead, % (span count x span cost)",
                per_step * cost_ns * 1e-9 / step_s * 100,
                3.0,
                "<=",
                detail=f"{per_step:.0f} spans/step x {cost_ns:.0f} ns per span / "
                f"{step_s * 1e3:.1f} ms per step",
            )
        )
    return out


def _stages(frame: pd.DataFrame, bench: str) -> list[int]:
    return sorted(int(s) for s in frame[frame.benchmark == bench].stage.unique() if s >= 0)


def batch_sizes(run_dir: Path) -> dict[str, int]:
    """Samples per step of every benchmark, read from the run's config."""
    sizes = {}
    for name, spec in read_config(run_dir).specs().items():
        if "batch_size" in spec:
            sizes[name] = spec.integer("batch_size")
    return sizes
