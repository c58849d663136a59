"""Where DNI stops paying against zero-bubble: the SG cost at which dni / zb = 1, per (K, m).

A zero-bubble schedule removes most of the bubble with exact gradients, so
what DNI has left to offer depends on what its synthetic-gradient module
costs. For every (K, m) this module finds, by bisection on the simulator,
the SG relative cost r* (the SG regression's time over one stage's forward
+ backward, :attr:`~dnibench.simulate.scaling.ModelCosts.sg_relative`) at
which DNI's predicted throughput equals zb's: below r*, DNI is faster.

- DNI slower than zb even with a free SG (r = 0): "none in range", DNI
  never pays there;
- DNI still faster at the top of the range: "none in range" too, DNI pays
  for any SG cost up to it.

The map is only as good as the simulator's zb, so :func:`zb_premise` checks
that the simulator predicted the run's measured zb benchmarks within the
stated error before the map is drawn, and says why not otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dnibench.modes import DNI, ZB
from dnibench.report.verdict import Verdict
from dnibench.simulate.scaling import ModelCosts, SweepSettings, simulate_point
from dnibench.simulate.validate import JUDGED, ValidationRow

__all__ = ["Crossover", "crossover_map", "crossover_markdown", "zb_premise"]

#: The SG relative costs searched: from free to three times a stage's forward + backward.
RANGE = (0.0, 3.0)
#: Bisection steps: the range / 2**10, about 0.003 of a stage's F+B.
STEPS = 10


@dataclass(frozen=True)
class Crossover:
    """One (K, m) cell of the map."""

    stages: int
    microbatches: int
    #: SG relative cost where dni / zb = 1 (None: none in range).
    sg_relative: float | None
    #: dni / zb throughput at the two ends of the range.
    ratio_free: float
    ratio_top: float

    @property
    def text(self) -> str:
        if self.sg_relative is not None:
            return f"{self.sg_relative:.3f}"
        if self.ratio_free <= 1:
            return "none in range (DNI slower even with a free SG)"
        return f"none in range (DNI faster up to {RANGE[1]:g})"


def _ratio(
    model: ModelCosts, k: int, m: int, settings: SweepSettings, zb: float, rel: float
) -> float:
    dni = simulate_point(model, DNI.name, k, m, settings, sg_relative=rel)
    return dni.prediction.throughput / zb


def crossover_map(
    model: ModelCosts,
    stages: Sequence[int],
    microbatches: Sequence[int],
    settings: SweepSettings,
) -> list[Crossover]:
    """The SG cost where dni / zb = 1 for every (K, m), by bisection on the simulator."""
    lo, hi = RANGE
    cells = []
    for m in microbatches:
        for k in stages:
            zb = simulate_point(model, ZB.name, k, m, settings).prediction.throughput
            free, top = (_ratio(model, k, m, settings, zb, r) for r in (lo, hi))
            found: float | None = None
            if free > 1 >= top:
                a, b = lo, hi
                for _ in range(STEPS):
                    mid = (a + b) / 2
                    if _ratio(model, k, m, settings, zb, mid) > 1:
                        a = mid
                    else:
                        b = mid
                found = (a + b) / 2
            cells.append(Crossover(k, m, found, free, top))
    return cells


def zb_premise(rows: Sequence[ValidationRow]) -> tuple[bool, str]:
    """(draw the map?, why): every measured zb benchmark simulated within its target."""
    zb = [r for r in rows if r.mode == ZB.name]
    checked = [r for r in zb if r.verdict in JUDGED]
    if not checked:
        return False, (
            "the calibration run has no measured zb benchmark the simulator could predict, "
            "so its zb model is unchecked"
        )
    missed = [r for r in checked if r.verdict != Verdict.MET]
    detail = ", ".join(f"{r.benchmark} {r.error:+.1%}" for r in checked)
    if missed:
        return False, (
            f"the simulator missed the measured zb run beyond its stated error ({detail}; "
            f"target ±{checked[0].target:.0%})"
        )
    return True, f"the simulator predicts the measured zb run within its target ({detail})"


def crossover_markdown(cells: Sequence[Crossover]) -> str:
    """A K x m table of the crossover SG cost (rows m, columns K)."""
    ks = sorted({c.stages for c in cells})
    ms = sorted({c.microbatches for c in cells})
    at = {(c.stages, c.microbatches): c for c in cells}
    lines = [
        "| m \\ K | " + " | ".join(str(k) for k in ks) + " |",
        "|---|" + "---:|" * len(ks),
    ]
    for m in ms:
        row = []
        for k in ks:
            cell = at.get((k, m))
            if cell is None:
                row.append("—")
            elif cell.sg_relative is not None:
                row.append(f"{cell.sg_relative:.3f}")
            else:
                top = f"none (above {RANGE[1]:g})"
                row.append("none (DNI slower)" if cell.ratio_free <= 1 else top)
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    return "\n".join(lines)
