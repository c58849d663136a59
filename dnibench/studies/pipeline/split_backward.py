"""What splitting the backward costs: D + W of a zb run against the fused B of a 1f1b run.

A zero-bubble schedule wins only if its two backward halves, the input
gradient (D) and the weight gradient (W), together cost about what the fused
backward (B) costs: the bubble it removes is paid back by any extra time the
split adds on every microbatch. So for a ``zb`` benchmark and a ``1f1b``
benchmark of the same run and otherwise the same spec, this module puts
side by side, per stage, the mean D span and the mean W span of the first
against the mean B span of the second, each taken over every launch's
steady-state window (after the warm-up steps, as the simulator's
calibration takes its costs: :func:`dnibench.simulate.calibrate.calibrate_trace`).

Another report (the pipeline report) calls :func:`split_backward_section`
for a whole run, or :func:`split_backward_costs` for one pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnibench.errors import UserError
from dnibench.instrument.spans import SpanKind
from dnibench.modes import ONE_F_ONE_B, ZB
from dnibench.rundir.layout import CONFIG
from dnibench.simulate.calibrate import calibrate_trace, read_trace, trace_paths
from dnibench.simulate.costs import StageCosts
from dnibench.simulate.validate import load_specs

__all__ = [
    "SplitBackwardCost",
    "split_backward_costs",
    "split_backward_markdown",
    "split_backward_pairs",
    "split_backward_section",
]

SPLIT_MODE, FUSED_MODE = ZB.name, ONE_F_ONE_B.name
# Keys that may differ between a zb benchmark and its fused twin.
_NOT_COMPARED = ("name", "mode")


@dataclass(frozen=True)
class SplitBackwardCost:
    """One stage: mean D and W of the split run, mean B of the fused run, in seconds.

    ``ratios`` holds (D + W) / B per pair of launches (launch i of each), the
    spread behind :attr:`ratio`, which is the ratio of the launch means.
    """

    stage: int
    input_s: float
    weight_s: float
    fused_s: float
    ratios: tuple[float, ...]

    @property
    def split_s(self) -> float:
        return self.input_s + self.weight_s

    @property
    def ratio(self) -> float:
        """(D + W) / B: above 1, the split backward costs more than the fused one."""
        return self.split_s / self.fused_s if self.fused_s > 0 else math.nan


def _launch_costs(run_dir: Path, name: str, warmup: int, kind: SpanKind) -> list[list[StageCosts]]:
    """Per launch, per stage, the calibrated costs; the launches must hold ``kind`` spans."""
    paths = trace_paths(run_dir, name)
    if not paths:
        raise UserError(f"{run_dir} has no trace for {name}: run it with spans on")
    launches = []
    for path in paths:
        spans = read_trace(path)
        if not all(bool((stage[:, 0] == kind).any()) for stage in spans):
            raise UserError(
                f"{path}: not every stage recorded a {kind.name.lower()} span; "
                f"{name} is not the schedule it should be"
            )
        launches.append(list(calibrate_trace(spans, warmup=warmup).costs.stages))
    return launches


def split_backward_costs(
    run_dir: Path | str, split_name: str, fused_name: str, *, warmup: int | None = None
) -> list[SplitBackwardCost]:
    """Per stage, D and W of benchmark ``split_name`` against B of ``fused_name``.

    ``warmup`` defaults to each benchmark's own warm-up steps (the run's config).
    """
    run_dir = Path(run_dir)
    specs = load_specs(run_dir)
    for name in (split_name, fused_name):
        if warmup is None and name not in specs:
            raise UserError(f"{run_dir / CONFIG} has no pipeline benchmark {name}")

    def warmup_of(name: str) -> int:
        return int(specs[name].get("warmup", 0)) if warmup is None else warmup

    split = _launch_costs(run_dir, split_name, warmup_of(split_name), SpanKind.BACKWARD_INPUT)
    fused = _launch_costs(run_dir, fused_name, warmup_of(fused_name), SpanKind.BACKWARD)
    stages = len(split[0])
    if any(len(launch) != stages for launch in split + fused):
        raise UserError(f"{split_name} and {fused_name} do not have the same stages")
    costs = []
    for k in range(stages):
        d = [launch[k].backward_input for launch in split]
        w = [launch[k].backward_weight for launch in split]
        b = [launch[k].backward for launch in fused]
        ratios = tuple((di + wi) / bi for di, wi, bi in zip(d, w, b, strict=False) if bi > 0)
        costs.append(
            SplitBackwardCost(
                stage=k,
                input_s=float(np.mean(d)),
                weight_s=float(np.mean(w)),
                fused_s=float(np.mean(b)),
                ratios=ratios,
            )
        )
    return costs


def split_backward_pairs(run_dir: Path | str) -> list[tuple[str, str]]:
    """(zb benchmark, its 1f1b twin) for every zb benchmark whose twin is in the run.

    The twin has the same spec but for name and mode, so the only difference
    measured is the schedule (and with it, the split).
    """
    specs = load_specs(Path(run_dir))

    def rest(spec: Mapping[str, object]) -> dict[str, object]:
        return {key: value for key, value in spec.items() if key not in _NOT_COMPARED}

    pairs = []
    for name, spec in specs.items():
        if spec.get("mode") != SPLIT_MODE or spec.get("spans") is False:
            continue
        twins = [
            other
            for other, candidate in specs.items()
            if candidate.get("mode") == FUSED_MODE and rest(candidate) == rest(spec)
        ]
        if twins:
            pairs.append((name, sorted(twins)[0]))
    return sorted(pairs)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def split_backward_markdown(
    costs: list[SplitBackwardCost], split_name: str, fused_name: str
) -> str:
    """A table: stage, mean D, mean W, D + W, mean fused B, their ratio and its launch range."""
    lines = [
        f"Split backward of `{split_name}` against the fused backward of `{fused_name}` "
        "(mean span per microbatch over the steady-state window, ms):",
        "",
        "| stage | D | W | D + W | fused B | (D + W) / B | range over launches |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cost in costs:
        spread = (
            f"{min(cost.ratios):.3f} to {max(cost.ratios):.3f} ({len(cost.ratios)} launches)"
            if cost.ratios
            else "—"
        )
        ratio = "—" if math.isnan(cost.ratio) else f"{cost.ratio:.3f}"
        lines.append(
            f"| {cost.stage} | {_ms(cost.input_s)} | {_ms(cost.weight_s)} | {_ms(cost.split_s)} "
            f"| {_ms(cost.fused_s)} | {ratio} | {spread} |"
        )
    return "\n".join(lines)


def split_backward_section(run_dir: Path | str) -> str | None:
    """One table per zb benchmark with a 1f1b twin in the run; ``None`` if there is none.

    A pair the run holds no traces for (interrupted or failed before it ran) gets a
    "not measured" line instead of stopping the whole report.
    """
    pairs = split_backward_pairs(run_dir)
    if not pairs:
        return None
    tables = []
    for split, fused in pairs:
        try:
            costs = split_backward_costs(run_dir, split, fused)
        except UserError as error:  # not run (interrupted, failed) or run without spans
            tables.append(f"Split backward of `{split}` against `{fused}`: not measured ({error}).")
            continue
        tables.append(split_backward_markdown(costs, split, fused))
    return "\n\n".join(tables)
