"""Out of sample: a target run's throughput predicted from a baseline run's spans.

:mod:`validate` calibrates each benchmark from the very run it predicts. For a
straggler run that is partly circular: the slowed stage's spans already hold
the slowdown. Here the simulator is calibrated from a BASELINE run (normally
the balanced one), the straggler that the TARGET run's specs name
(``slow_stage``, ``slow_factor``) is applied to the calibrated costs the way
the runtime applies it (forwards and backwards take ``factor`` times as long,
see :meth:`~dnibench.simulate.costs.StageCosts.slowed`), and the prediction is
compared with the target's measured throughput. No span of the target run is
read, and nothing is fitted to any measured throughput.

Benchmarks are matched by name and must be the same benchmark apart from the
straggler (and spans, timeout): any other difference in their specs, or a
benchmark found in one run only, gives a skipped row with the reason. A
baseline that itself had a straggler has it divided out first.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from dnibench.errors import UserError
from dnibench.modes import SINGLE
from dnibench.runtimes.spec import BenchSpec
from dnibench.simulate.costs import PipelineCosts
from dnibench.simulate.engine import simulate
from dnibench.simulate.predict import predict
from dnibench.simulate.validate import (
    TARGET,
    TARGET_STRAGGLER,
    RunCalibrations,
    ValidationRow,
    calibrate_benchmark,
    load_specs,
    measured_throughput,
    read_results,
    sim_config,
)

__all__ = ["Straggler", "crosscheck_runs", "target_straggler"]

#: Spec keys that may differ between the baseline and target run of one benchmark.
_MAY_DIFFER = ("name", "spans", "slow_stage", "slow_factor", "timeout_s")


@dataclass(frozen=True)
class Straggler:
    """The stage a run slowed and by how much; ``stage is None``: nothing slowed.

    Built with :meth:`of_spec`, which keeps only what the runtime acts on: it
    sleeps only for a factor above 1 and only on a rank equal to the stage.
    """

    stage: int | None = None
    factor: float = 1.0

    @classmethod
    def of_spec(cls, spec: dict[str, Any], num_stages: int) -> Straggler:
        stage = spec.get("slow_stage")
        factor = float(spec.get("slow_factor", 1.0) or 1.0)
        if stage is None or factor <= 1 or not 0 <= int(stage) < num_stages:
            return cls()
        return cls(int(stage), factor)

    @property
    def active(self) -> bool:
        return self.stage is not None

    def apply(self, costs: PipelineCosts) -> PipelineCosts:
        """``costs`` with this straggler's slowdown added."""
        return costs if self.stage is None else costs.with_straggler(self.stage, self.factor)

    def remove(self, costs: PipelineCosts) -> PipelineCosts:
        """``costs`` measured under this straggler, with its slowdown divided out."""
        return costs if self.stage is None else costs.with_straggler(self.stage, 1 / self.factor)

    def describe(self) -> str:
        if self.stage is None:
            return "no straggler"
        return f"stage {self.stage} slowed {self.factor:g}x"


def _num_stages(spec: dict[str, Any]) -> int:
    return 1 if spec.get("mode") == SINGLE.name else int(spec.get("stages", 1))


#: BenchSpec's plain defaults: a run written before a key existed ran with its default.
_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(BenchSpec) if f.default is not dataclasses.MISSING
}


def _differences(base: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """Spec keys (beyond those allowed to differ) whose values the two runs disagree on."""
    keys = (set(base) | set(target)) - set(_MAY_DIFFER)
    missing = object()
    differ = []
    for key in keys:
        a = base.get(key, _DEFAULTS.get(key, missing))
        b = target.get(key, _DEFAULTS.get(key, missing))
        if a != b:
            differ.append(key)
    return sorted(differ)


def target_straggler(target_specs: dict[str, dict[str, Any]]) -> list[Straggler]:
    """The distinct stragglers the target run's pipeline benchmarks name, in order."""
    found: list[Straggler] = []
    for spec in target_specs.values():
        straggler = Straggler.of_spec(spec, _num_stages(spec))
        if straggler not in found:
            found.append(straggler)
    return found


def _row(
    spec: dict[str, Any], measured: float, launches: int, target: float, **rest: Any
) -> ValidationRow:
    return ValidationRow(
        benchmark=str(spec["name"]),
        mode=str(spec["mode"]),
        stages=_num_stages(spec),
        microbatches=int(spec.get("microbatches", 1)),
        measured=measured,
        target=target,
        launches=launches,
        **rest,
    )


def crosscheck_runs(
    baseline: Path | str, target: Path | str, statistic: str = "mean"
) -> list[ValidationRow]:
    """Every pipeline benchmark of ``target`` predicted from ``baseline``'s spans.

    Rows follow the target's benchmark order, then the baseline's benchmarks
    that the target lacks (skipped). ``predicted`` is the median over the
    baseline's launches, ``measured`` the median over the target's.
    """
    baseline, target = Path(baseline), Path(target)
    base_specs = load_specs(baseline)
    target_specs = load_specs(target)
    if not set(base_specs) & set(target_specs):
        raise UserError(
            f"{baseline} and {target} share no pipeline benchmark name; the target must be a "
            "run of the same suite (e.g. the same `dnibench run` with --slow-stage/--slow-factor)"
        )
    results = read_results(target)
    cal = RunCalibrations(baseline, base_specs, statistic)
    rows: list[ValidationRow] = []
    for name, spec in target_specs.items():
        measured, launches = measured_throughput(results, name)
        straggler = Straggler.of_spec(spec, _num_stages(spec))
        limit = TARGET_STRAGGLER if straggler.active else TARGET
        row = partial(_row, spec, measured, launches, limit)
        reason = ""
        base = base_specs.get(name)
        if base is None:
            reason = f"not in the baseline run {baseline.name}"
        elif spec["mode"] == SINGLE.name:
            reason = "single-process baseline: not a pipeline, nothing to simulate"
        elif differ := _differences(base, spec):
            reason = f"spec differs from the baseline's in {', '.join(differ)}"
        if reason:
            rows.append(row(predicted=math.nan, calibration="", skipped=reason))
            continue
        assert base is not None
        calibrations, note, reason = calibrate_benchmark(name, cal)
        if reason:
            rows.append(row(predicted=math.nan, calibration="", skipped=reason))
            continue
        undo = Straggler.of_spec(base, _num_stages(base))
        config = sim_config(spec)
        predictions = [
            predict(simulate(config, straggler.apply(undo.remove(c.costs)))).throughput
            for c in calibrations
        ]
        note = f"baseline {note}; {straggler.describe()}"
        if undo.active:
            note += f" (baseline's {undo.describe()} divided out)"
        rows.append(row(predicted=float(np.median(predictions)), calibration=note))
    for name, spec in base_specs.items():
        if name not in target_specs:
            reason = f"not in the target run {target.name}"
            rows.append(
                _row(spec, math.nan, 0, TARGET, predicted=math.nan, calibration="", skipped=reason)
            )
    return rows
