"""Predicted time to target over K and m: samples to target over simulated throughput.

Time to target factors into samples to target (a property of the training
trajectory) over throughput (a property of the pipeline and the machine).
The K map measures the first factor at K = 2, 3, 4 in the one-process replay
of the pipeline and takes the second from the simulator, calibrated on a
run's steady-state pipeline launches (never on the launches being
predicted), so that

    predicted time to target (mode, K, m) = samples to target (mode, K) / throughput (mode, K, m)

Two assumptions, stated wherever the map is shown:

- samples to target does not depend on m: it is measured at the suite's m
  (the ttq batch of 64), and the simulator keeps the microbatch size, so a
  different m is a different batch that the map treats as training alike;
- beyond the largest measured K it is an *extrapolation*
  (:func:`extrapolate`): ``hold`` keeps the largest measured K's value (the
  default: no trend is claimed from three points), ``trend`` fits
  log samples = a + b log K through the measured points and extends it.
  A regime that never reached the target at the largest measured K is held
  at "never" either way.

A decoupled regime *beats* the best exact schedule at (K, m) when its
predicted time is below the smallest predicted time of every exact schedule
at the same (K, m).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("hold", "trend")
"""How samples to target is extrapolated beyond the measured K."""

Throughput = Callable[[str, int, int], float]
"""(mode, K, m) -> simulated samples per second (NaN: the simulator cannot run it)."""


@dataclass(frozen=True)
class SamplesAt:
    """Samples to target of one mode at one K: measured, or extrapolated (and how)."""

    samples: float
    """+inf: never reached; NaN: unknown."""
    measured: bool
    label: str
    """"measured" or "extrapolated: <the assumption>"."""


def extrapolate(measured: Mapping[int, float], k: int, rule: str = "hold") -> SamplesAt:
    """Samples to target at ``k`` from ``measured`` (K -> samples; +inf: never reached)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if k in measured:
        return SamplesAt(float(measured[k]), True, "measured")
    known = {kk: float(v) for kk, v in measured.items() if not math.isnan(v)}
    if not known:
        return SamplesAt(math.nan, False, "unknown: nothing measured")
    top = max(known)
    if k < top:
        return SamplesAt(math.nan, False, f"unknown: K = {k} not measured")
    if rule == "hold" or math.isinf(known[top]):
        return SamplesAt(known[top], False, f"extrapolated: held at K = {top}'s")
    finite = sorted((kk, v) for kk, v in known.items() if math.isfinite(v))
    if len(finite) < 2:
        return SamplesAt(known[top], False, f"extrapolated: held at K = {top}'s (one point)")
    logk = np.log([kk for kk, _ in finite])
    logs = np.log([v for _, v in finite])
    slope, intercept = np.polyfit(logk, logs, 1)
    ks = ", ".join(str(kk) for kk, _ in finite)
    value = float(np.exp(intercept + slope * math.log(k)))
    return SamplesAt(value, False, f"extrapolated: log-log trend through K = {ks}")


@dataclass(frozen=True)
class Predicted:
    """One cell of the map: a mode's predicted time to target at (K, m)."""

    mode: str
    stages: int
    microbatches: int
    samples: SamplesAt
    throughput: float

    @property
    def seconds(self) -> float:
        """samples / throughput: +inf when never reached, NaN when either factor is unknown."""
        if math.isnan(self.samples.samples) or not self.throughput > 0:
            return math.nan
        return self.samples.samples / self.throughput


def predict_times(
    samples: Mapping[str, Mapping[int, float]],
    throughput: Throughput,
    stages: Iterable[int],
    microbatches: Iterable[int],
    rule: str = "hold",
) -> list[Predicted]:
    """Every mode of ``samples`` (mode -> K -> samples to target) at every (K, m)."""
    ms = list(microbatches)
    cells = []
    for mode, by_k in samples.items():
        for k in stages:
            at = extrapolate(by_k, k, rule)
            for m in ms:
                cells.append(Predicted(mode, k, m, at, throughput(mode, k, m)))
    return cells


@dataclass(frozen=True)
class MapCell:
    """Whether ``mode`` beats the best exact schedule at (K, m), by the predicted ratio."""

    mode: str
    stages: int
    microbatches: int
    ratio: float
    """Predicted time over the best exact schedule's (< 1: faster; +inf: this mode never
    arrives; 0: only this mode arrives; NaN: unknown, or neither arrives)."""
    best_exact: str
    extrapolated: bool

    @property
    def beats(self) -> bool:
        return self.ratio < 1


def beat_map(cells: Sequence[Predicted], exact: Iterable[str]) -> list[MapCell]:
    """Each non-exact mode's cells against the fastest exact mode at the same (K, m)."""
    exact_modes = set(exact)
    best: dict[tuple[int, int], Predicted] = {}
    for cell in cells:
        if cell.mode not in exact_modes or math.isnan(cell.seconds):
            continue
        key = (cell.stages, cell.microbatches)
        if key not in best or cell.seconds < best[key].seconds:
            best[key] = cell
    out = []
    for cell in cells:
        if cell.mode in exact_modes:
            continue
        rival = best.get((cell.stages, cell.microbatches))
        ratio = math.nan
        if rival is not None and math.isfinite(rival.seconds):
            ratio = cell.seconds / rival.seconds
        elif rival is not None and math.isfinite(cell.seconds):
            ratio = 0.0  # the exact schedules never arrive, this mode does
        extrapolated = not cell.samples.measured or (
            rival is not None and not rival.samples.measured
        )
        out.append(
            MapCell(
                cell.mode,
                cell.stages,
                cell.microbatches,
                ratio,
                rival.mode if rival else "",
                extrapolated,
            )
        )
    return out


def prediction_error(predicted: float, measured: float) -> float:
    """predicted / measured - 1 (NaN unless both are finite and measured > 0)."""
    if not (math.isfinite(predicted) and math.isfinite(measured)) or measured <= 0:
        return math.nan
    return predicted / measured - 1


__all__ = [
    "RULES", "MapCell", "Predicted", "SamplesAt", "Throughput", "beat_map", "extrapolate",
    "predict_times", "prediction_error",
]  # fmt: skip
