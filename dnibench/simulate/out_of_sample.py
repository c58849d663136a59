"""Out of sample within one run: each benchmark predicted from the same regime at another m.

:mod:`validate` calibrates each benchmark from its own launches, so its
agreement is a consistency check (the simulator reproduces what it was fed),
not a prediction. Here a benchmark at m microbatches is predicted from the
spans of the same regime at another m of the same run, never its own:

- the source is the benchmark with the same spec except ``microbatches``
  (and name), spans on, at the nearest other m (ties to the larger m);
- its per-microbatch compute costs (forward, backward and its halves, SG
  and SI forward and regression) are scaled by the ratio of microbatch
  sizes, target over source (``batch_size // m``): the assumption under
  test is that compute per microbatch is proportional to its samples;
- the optimiser step, a send's posting cost, the per-action overhead and
  the link delay are kept as measured: they do not grow with the samples;
- the target's own schedule, steps and knobs are simulated, and the
  prediction (median over the source's launches) is set against the
  target's measured median throughput.

The tolerance, :data:`OUT_OF_SAMPLE_TARGET`, is fixed here before any run
is read: the straggler cross-check's (:data:`validate.TARGET_STRAGGLER`).
Peers (whose overhead cannot be read from their spans), benchmarks with
spans off and single-process baselines have no row; neither has a regime
measured at one m only.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dnibench.modes import PEER_MODES, SINGLE
from dnibench.simulate.calibrate import Calibration
from dnibench.simulate.costs import PipelineCosts
from dnibench.simulate.engine import simulate
from dnibench.simulate.predict import predict
from dnibench.simulate.validate import (
    TARGET_STRAGGLER,
    RunCalibrations,
    ValidationRow,
    load_specs,
    measured_throughput,
    read_results,
    sim_config,
)

__all__ = ["OUT_OF_SAMPLE_TARGET", "out_of_sample_rows", "pick_source", "rescale"]

OUT_OF_SAMPLE_TARGET = TARGET_STRAGGLER
"""Largest relative error accepted for a prediction from another m (set before reading runs)."""

#: Spec keys that may differ between a benchmark and its source at another m.
_MAY_DIFFER = ("name", "microbatches", "timeout_s")
#: Costs per microbatch that grow with its samples.
_PER_SAMPLE = (
    "forward", "backward", "synth_backward", "backward_input", "backward_weight", "sg_update",
    "si_forward", "si_update",
)  # fmt: skip


def _microbatch_size(spec: dict[str, Any]) -> int:
    m = int(spec.get("microbatches", 1))
    return max(1, int(spec.get("batch_size", m)) // m)


def _eligible(spec: dict[str, Any]) -> bool:
    mode = str(spec.get("mode", ""))
    return mode != SINGLE.name and mode not in PEER_MODES and spec.get("spans") is not False


def pick_source(specs: dict[str, dict[str, Any]], name: str) -> str | None:
    """The benchmark to calibrate ``name`` from: same spec at the nearest other m, else None."""
    spec = specs[name]
    if not _eligible(spec):
        return None
    keep = {k: v for k, v in spec.items() if k not in _MAY_DIFFER}
    m = int(spec.get("microbatches", 1))
    candidates = []
    for other, other_spec in specs.items():
        if other == name or not _eligible(other_spec):
            continue
        other_m = int(other_spec.get("microbatches", 1))
        if other_m == m:
            continue
        if {k: v for k, v in other_spec.items() if k not in _MAY_DIFFER} == keep:
            candidates.append((abs(other_m - m), -other_m, other))
    return min(candidates)[2] if candidates else None


def rescale(costs: PipelineCosts, factor: float) -> PipelineCosts:
    """Per-microbatch compute scaled by ``factor``; optimiser, sends, overhead, link kept."""
    stages = tuple(s.scaled(**dict.fromkeys(_PER_SAMPLE, factor)) for s in costs.stages)
    return replace(costs, stages=stages)


def _predict_from(source: list[Calibration], spec: dict[str, Any], factor: float) -> float:
    config = sim_config(spec)
    values = [predict(simulate(config, rescale(c.costs, factor))).throughput for c in source]
    return float(np.median(values))


def out_of_sample_rows(run_dir: Path | str, statistic: str = "mean") -> list[ValidationRow]:
    """One row per benchmark that has a source at another m in the same run."""
    run_dir = Path(run_dir)
    specs = load_specs(run_dir)
    results = read_results(run_dir)
    cal = RunCalibrations(run_dir, specs, statistic)
    rows: list[ValidationRow] = []
    for name, spec in specs.items():
        source = pick_source(specs, name)
        if source is None:
            continue
        calibrations = cal.of(source)
        if not calibrations or not all(c.has_spans for c in calibrations):
            continue
        measured, launches = measured_throughput(results, name)
        factor = _microbatch_size(spec) / _microbatch_size(specs[source])
        predicted = _predict_from(calibrations, spec, factor)
        rows.append(
            ValidationRow(
                benchmark=name,
                mode=str(spec["mode"]),
                stages=int(spec.get("stages", 1)),
                microbatches=int(spec.get("microbatches", 1)),
                predicted=predicted if math.isfinite(predicted) else math.nan,
                measured=measured,
                target=OUT_OF_SAMPLE_TARGET,
                launches=launches,
                calibration=f"from {source}'s spans, compute x {factor:g}",
            )
        )
    return rows
