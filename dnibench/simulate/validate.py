"""Simulated against measured: every pipeline benchmark of a run, from its own spans.

For each launch of a benchmark the simulator is calibrated from that
launch's trace (:mod:`calibrate`) and run with the benchmark's own spec
(regime, stages, microbatches, steps, warm-up, staleness, optimiser cadence),
and the predicted throughput is the median over launches, as the measured
one is (the ``throughput`` rows of results.csv, stage -1). Nothing is fitted
to the measured throughput.

Where a benchmark's own spans cannot give a cost, it is borrowed, and the
table says from where: a benchmark run with spans off takes every cost from
its twin with spans on; a PyTorch peer, whose waits and sends are hidden,
takes overhead, send cost and link delay from dnibench's own run of the same
schedule. Single-process baselines are not pipelines and are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnibench.errors import UserError
from dnibench.modes import PEER_MODES, SINGLE, Family, modes_of
from dnibench.report.verdict import Verdict
from dnibench.rundir import reader
from dnibench.rundir.reader import require_config
from dnibench.simulate.calibrate import (
    Calibration,
    borrow_runtime_costs,
    calibrate_trace,
    read_trace,
    trace_paths,
)
from dnibench.simulate.engine import SimConfig, simulate
from dnibench.simulate.predict import predict

__all__ = [
    "TARGET",
    "TARGET_STRAGGLER",
    "ValidationRow",
    "calibrate_benchmark",
    "load_specs",
    "read_results",
    "validate_run",
]

TARGET = 0.10
"""Largest relative throughput error accepted for a balanced pipeline."""
TARGET_STRAGGLER = 0.15
"""Largest relative throughput error accepted when one stage is a straggler."""

#: Peers the simulator models with one of dnibench's schedules, from the table of modes.
PEER_SCHEDULE = {m.name: m.simulated_as for m in modes_of(Family.PEER) if m.simulated_as}
_IGNORED_FOR_TWIN = ("name", "spans", "mode")


@dataclass(frozen=True)
class ValidationRow:
    """One benchmark's predicted and measured throughput (samples/s)."""

    benchmark: str
    mode: str
    stages: int
    microbatches: int
    predicted: float
    measured: float
    target: float
    launches: int
    calibration: str
    skipped: str = ""

    @property
    def error(self) -> float:
        """(predicted - measured) / measured."""
        if self.skipped or not self.measured > 0:
            return math.nan
        return (self.predicted - self.measured) / self.measured

    @property
    def verdict(self) -> str:
        if self.skipped:
            return str(Verdict.NOT_APPLICABLE)
        if math.isnan(self.error):
            return str(Verdict.NOT_MEASURED)
        return str(Verdict.MET if abs(self.error) <= self.target else Verdict.MISSED)

    def markdown(self) -> str:
        def num(value: float) -> str:
            return "—" if math.isnan(value) else f"{value:.0f}"

        error = "—" if math.isnan(self.error) else f"{self.error:+.1%}"
        note = self.skipped or self.calibration
        cells = [
            self.benchmark,
            self.mode,
            str(self.stages),
            str(self.microbatches),
            num(self.predicted),
            num(self.measured),
            error,
            f"±{self.target:.0%}",
            self.verdict,
            note,
        ]
        return "| " + " | ".join(cells) + " |"


#: The verdicts of rows with both a prediction and a measurement: the ones judged.
JUDGED = (str(Verdict.MET), str(Verdict.MISSED))

MARKDOWN_HEADER = (
    "| benchmark | mode | K | m | predicted (samples/s) | measured (samples/s) | error "
    "| target | verdict | calibration |\n|---|---|---:|---:|---:|---:|---:|---|---|---|"
)


def load_specs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Benchmark name -> spec dict of the run's pipeline benchmarks (the run's config)."""
    specs: dict[str, dict[str, Any]] = {}
    for entry in require_config(run_dir).of_kind("pipeline"):
        spec = entry.spec
        if spec.name is not None and "mode" in spec:
            specs[spec.name] = spec.as_dict()
    return specs


def read_results(run_dir: Path) -> pd.DataFrame:
    """The run's tidy rows (the one reader's: its errors name the file and the fix)."""
    return reader.read_results(run_dir)


def measured_throughput(results: pd.DataFrame, name: str) -> tuple[float, int]:
    """Median over launches of a benchmark's ``throughput`` (stage -1), and the launch count."""
    rows = results[
        (results["benchmark"] == name)
        & (results["metric"] == "throughput")
        & (results["stage"] == -1)
    ]["value"].dropna()
    return (float(rows.median()), len(rows)) if len(rows) else (math.nan, 0)


def sim_config(spec: dict[str, Any], **overrides: Any) -> SimConfig:
    """The simulation of a benchmark spec: same regime, shape, steps and knobs."""
    mode = str(spec["mode"])
    m = int(spec.get("microbatches", 1))
    fields: dict[str, Any] = {
        "schedule": PEER_SCHEDULE.get(mode, mode),
        "num_stages": int(spec.get("stages", 2)),
        "microbatches": m,
        "steps": int(spec.get("steps", 30)),
        "warmup": int(spec.get("warmup", 5)),
        "staleness": int(spec.get("staleness", 0)),
        "update_every": 1 if spec.get("update_per_microbatch") else m,
        "microbatch_size": max(1, int(spec.get("batch_size", m)) // m),
        "sees_arrivals": spec.get("backend", "gloo") != "gloo",
    }
    fields.update(overrides)
    return SimConfig(**fields)


def _twin(specs: dict[str, dict[str, Any]], spec: dict[str, Any], mode: str) -> str | None:
    """Another benchmark with spans on, ``mode``, and otherwise the same spec."""
    keep = {k: v for k, v in spec.items() if k not in _IGNORED_FOR_TWIN}
    for name, other in specs.items():
        if name == spec["name"] or other.get("mode") != mode or other.get("spans") is False:
            continue
        if {k: v for k, v in other.items() if k not in _IGNORED_FOR_TWIN} == keep:
            return name
    return None


class RunCalibrations:
    """Per-launch calibrations of a run's benchmarks, read once each."""

    def __init__(self, run_dir: Path, specs: dict[str, dict[str, Any]], statistic: str) -> None:
        self.run_dir = run_dir
        self.specs = specs
        self.statistic = statistic
        self._cache: dict[str, list[Calibration]] = {}

    def of(self, name: str) -> list[Calibration]:
        if name not in self._cache:
            warmup = int(self.specs[name].get("warmup", 5))
            self._cache[name] = [
                calibrate_trace(read_trace(path), warmup=warmup, statistic=self.statistic)
                for path in trace_paths(self.run_dir, name)
            ]
        return self._cache[name]


def calibrate_benchmark(name: str, cal: RunCalibrations) -> tuple[list[Calibration], str, str]:
    """(calibrations, how they were made, reason to skip or '') of benchmark ``name``."""
    spec = cal.specs[name]
    mode = str(spec["mode"])
    own = cal.of(name)
    if not own:
        return [], "", "no trace in traces/: nothing to calibrate from"
    note = "own spans"
    if not all(c.has_spans for c in own):
        twin = _twin(cal.specs, spec, mode)
        if twin is None or not cal.of(twin):
            return [], "", "spans off and no twin with spans on to take costs from"
        own = cal.of(twin)
        note = f"costs from {twin} (this benchmark recorded step markers only)"
    if mode in PEER_SCHEDULE:
        sibling = _twin(cal.specs, spec, PEER_SCHEDULE[mode])
        if sibling is None or not cal.of(sibling):
            return own, "own spans; overhead, send and link unknown (taken as 0)", ""
        base = cal.of(sibling)
        own = [borrow_runtime_costs(c, base[i % len(base)]) for i, c in enumerate(own)]
        note = f"own compute spans; overhead, send, link from {sibling}"
    return own, note, ""


def validate_run(run_dir: Path | str, statistic: str = "mean") -> list[ValidationRow]:
    """Predicted next to measured throughput for every pipeline benchmark of ``run_dir``.

    ``statistic``: how span durations are summarised per kind (see
    :func:`~dnibench.simulate.calibrate.calibrate_trace`).
    """
    run_dir = Path(run_dir)
    specs = load_specs(run_dir)
    results = read_results(run_dir)
    cal = RunCalibrations(run_dir, specs, statistic)
    rows: list[ValidationRow] = []
    for name, spec in specs.items():
        measured, launches = measured_throughput(results, name)
        slowed = spec.get("slow_stage") is not None and float(spec.get("slow_factor", 1)) != 1
        row = partial(
            ValidationRow,
            benchmark=name,
            mode=str(spec["mode"]),
            stages=1 if spec["mode"] == SINGLE.name else int(spec.get("stages", 1)),
            microbatches=int(spec.get("microbatches", 1)),
            measured=measured,
            target=TARGET_STRAGGLER if slowed else TARGET,
            launches=launches,
        )
        if spec["mode"] == SINGLE.name:
            reason = "single-process baseline: not a pipeline, nothing to simulate"
            rows.append(row(predicted=math.nan, calibration="", skipped=reason))
            continue
        if spec["mode"] in PEER_MODES and spec["mode"] not in PEER_SCHEDULE:
            reason = "a PyTorch schedule the simulator has no model of"
            rows.append(row(predicted=math.nan, calibration="", skipped=reason))
            continue
        calibrations, note, reason = calibrate_benchmark(name, cal)
        if reason:
            rows.append(row(predicted=math.nan, calibration="", skipped=reason))
            continue
        config = sim_config(spec)
        predictions = [predict(simulate(config, c.costs)).throughput for c in calibrations]
        rows.append(row(predicted=float(np.median(predictions)), calibration=note))
    return rows


def validation_markdown(rows: list[ValidationRow]) -> str:
    """The simulated-vs-measured table with a one-line summary under it."""
    checked = [r for r in rows if r.verdict in JUDGED]
    within = sum(r.verdict == Verdict.MET for r in checked)
    lines = [MARKDOWN_HEADER, *(r.markdown() for r in rows), ""]
    if checked:
        worst = max(checked, key=lambda r: abs(r.error))
        lines.append(
            f"{within} of {len(checked)} simulated benchmarks within target; largest error "
            f"{worst.error:+.1%} ({worst.benchmark})."
        )
    return "\n".join(lines)


_SECTION_NOTE = (
    "Each launch's spans calibrate the simulator (per stage and kind, the mean duration in the "
    "steady-state window; per-action overhead from the time no span covers; link delay from "
    "blocked waits), which then runs the benchmark's own schedule; predicted is the median over "
    "launches, as measured is. Nothing is fitted to the measured throughput. Target: within "
    f"{TARGET:.0%} ({TARGET_STRAGGLER:.0%} with a straggler stage)."
)


def validation_section(run_dir: Path | str) -> str | None:
    """Markdown section "Simulated vs measured" for a run holding pipeline benchmarks, else None.

    A run whose files cannot be simulated gets a section saying why, rather
    than a failed report.
    """
    run_dir = Path(run_dir)
    if not reader.has_config(run_dir) or not reader.has_traces(run_dir):
        return None
    try:
        rows = validate_run(run_dir)
    except UserError as err:
        return f"## Simulated vs measured\n\nNot simulated: {err}\n"
    if not any(r.verdict in JUDGED for r in rows):
        return None
    return f"## Simulated vs measured\n\n{_SECTION_NOTE}\n\n{validation_markdown(rows)}\n"
