"""The recurrent targets: each measured, judged against its goal, and first against its premise.

A verdict is a measurement too. Every character-LM target that compares DNI
with tbptt-40 needs tbptt-40 to beat tbptt-8 in the same run (the premise of
:class:`~dnibench.studies.recurrent.report.figures.Premise`); where it does not, the
verdict is "not testable", never "met". Targets (Jaderberg et al. 2017's
claim that DNI at T = 8 captures what T = 40 captures with about half the
data, scaled to this run):

- gap closed by dni-8 (and dni-8+aux) at equal characters and at equal
  seconds, median over seeds: goal >= 1 (it matches tbptt-40);
- characters and seconds to reach tbptt-40's best validation BPC, dni / tbptt-40
  (medians over seeds): goal <= 0.6 (about half);
- dni-8 better than tbptt-8 by more than the seed spread (needs no premise);
- the control (dni-8 with the synthetic gradient forced to zero) equals
  tbptt-8: a check that the comparison measures the SG and nothing else;
- no dni-8 seed diverged.

Copy tasks: at every T and task, dni-tbptt solves a longer length than tbptt,
paired by seed, premise-checked (:func:`copy_tables.copy_targets`). "missed
by" says how far the measured value is from the goal in the goal's own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dnibench.report.verdict import Target
from dnibench.studies.recurrent.report.copy_tables import copy_targets
from dnibench.studies.recurrent.report.figures import (
    Premise,
    best_valid_target,
    divergence,
    equal_seconds,
    gap_closed,
    median,
    reach,
    seed_values,
    spread,
)

GAP_GOAL = 1.0
TO_TARGET_RATIO = 0.6
CONTROL_TOLERANCE = 1e-6

_HINTS = {
    "close": "a longer character budget (DNI's edge grows once long-range structure is learnt), "
    "tuning sg_scale / sg_lr, or aux",
    "control": "a bug: with a zero synthetic gradient the core's update must be tbptt's",
    "diverged": "a smaller sg_scale (a stronger discount of the bootstrapped future)",
    "sg": "an SG that sees what predicts the future gradient (a context, a wider state), or "
    "a task whose future gradient depends on the state (the copy tasks)",
    "spread": "more seeds (a tighter spread), a longer budget, or another sg_scale (see the "
    "sg_scale comparison) so the synthetic gradient carries more of the future",
    "chars": "a target BPC reached later in the budget, or a longer budget",
    "seconds": "a cheaper SG (sg_width below the state size) or a budget long enough that "
    "DNI's data advantage outweighs its per-character cost",
    "copy": "a larger character budget for the curriculum, or a larger sg_lr so the SG "
    "learns the long-range signal sooner",
}


@dataclass(frozen=True)
class LMRoles:
    """Which benchmark of a run plays which part (names; None where the run lacks it)."""

    short: str | None = None  # tbptt, T = 8
    long: str | None = None  # tbptt, T = 40
    dni: str | None = None  # dni-tbptt, T = 8, the default sg_scale
    aux: str | None = None  # dni-tbptt+aux, T = 8, the default sg_scale
    control: str | None = None  # dni-tbptt, T = 8, sg_scale = 0
    sweep: list[str] = field(default_factory=list)  # dni-tbptt, T = 8, other scales

    @property
    def dnis(self) -> list[str]:
        """The DNI benchmarks judged against the baselines (not the control)."""
        return [name for name in (self.dni, self.aux, *self.sweep) if name is not None]


def _reach_ratio(top: np.ndarray, bottom: np.ndarray) -> float:
    """Median characters (or seconds) to a target, DNI over tbptt-40.

    A DNI seed that never reaches the target within its budget counts as
    infinitely late, so a DNI that never gets there misses the goal instead
    of going unmeasured; NaN only when tbptt-40 itself has no figure.
    """
    low = median(bottom)
    if not (low and math.isfinite(low)) or top.size == 0:
        return math.nan
    return float(np.median(np.where(np.isnan(top), math.inf, top))) / low


def premise_of(results: pd.DataFrame, roles: LMRoles) -> Premise | None:
    """The run's premise at equal characters (None without both baselines)."""
    if roles.short is None or roles.long is None:
        return None
    return Premise(seed_values(results, roles.short), seed_values(results, roles.long))


def seconds_premise(curves: pd.DataFrame, roles: LMRoles) -> tuple[float, Premise | None]:
    """The premise again with every run cut at the shortest run's seconds."""
    if roles.short is None or roles.long is None:
        return math.nan, None
    cut, cut_bpc = equal_seconds(curves, [roles.short, roles.long, *roles.dnis])
    return cut, Premise(cut_bpc[roles.short], cut_bpc[roles.long])


def lm_targets(results: pd.DataFrame, curves: pd.DataFrame, roles: LMRoles) -> list[Target]:
    """Every character-LM target the run allows, each with its premise checked."""
    targets: list[Target] = []
    premise = premise_of(results, roles)
    cut, timed = seconds_premise(curves, roles)
    judged = [name for name in (roles.dni, roles.aux) if name is not None]
    if premise is not None and roles.short is not None and roles.long is not None:
        why = premise.failure
        timed_why = timed.failure if timed is not None else why
        cut_bpc = equal_seconds(curves, [roles.short, roles.long, *roles.dnis])[1]
        target_bpc = best_valid_target(curves, roles.long)
        long_reach = reach(curves, roles.long, target_bpc)
        for name in judged:
            dni = seed_values(results, name)
            targets.append(
                Target(
                    f"gap closed at equal characters: {name}",
                    median(gap_closed(dni, premise.short, premise.long)),
                    GAP_GOAL,
                    ">=",
                    _HINTS["close"],
                    ".2f",
                    why,
                )
            )
            if timed is not None:
                targets.append(
                    Target(
                        f"gap closed at equal seconds ({cut:.0f} s): {name}",
                        median(gap_closed(cut_bpc[name], timed.short, timed.long)),
                        GAP_GOAL,
                        ">=",
                        _HINTS["seconds"],
                        ".2f",
                        timed_why,
                    )
                )
            dni_reach = reach(curves, name, target_bpc)
            for column, label, hint in ((0, "characters", "chars"), (1, "seconds", "seconds")):
                targets.append(
                    Target(
                        f"{label} to {roles.long}'s best validation BPC ({target_bpc:.3f}): "
                        f"{name} / {roles.long}",
                        _reach_ratio(dni_reach[:, column], long_reach[:, column]),
                        TO_TARGET_RATIO,
                        "<=",
                        _HINTS[hint],
                        ".2f",
                        why,
                    )
                )
    if roles.short is not None:
        short = seed_values(results, roles.short)
        for name in judged:
            dni = seed_values(results, name)
            targets.append(
                Target(
                    f"BPC: {roles.short} minus {name} (goal: above the seed spread)",
                    median(short) - median(dni),
                    max(spread(short), spread(dni)),
                    ">",
                    _HINTS["spread"],
                    "+.3f",
                )
            )
        if roles.control is not None:
            control = seed_values(results, roles.control)
            count = min(control.size, short.size)
            difference = np.abs(control[:count] - short[:count])
            targets.append(
                Target(
                    f"control: |{roles.control} minus {roles.short}| per seed, largest",
                    float(difference.max()) if count else math.nan,
                    CONTROL_TOLERANCE,
                    "<=",
                    _HINTS["control"],
                    ".2g",
                )
            )
    if roles.dni is not None:
        diverged = divergence(results, curves, roles.dni, roles.short)
        targets.append(
            Target(
                f"seeds of {roles.dni} that diverged",
                float(diverged.count),
                0.0,
                "<=",
                _HINTS["diverged"],
                ".0f",
            )
        )
    for name in judged:
        targets += sg_quality_targets(results, name)
    return targets


def sg_quality_targets(results: pd.DataFrame, name: str) -> list[Target]:
    """The last SG probe of ``name`` (median over seeds): does the SG carry the true gradient?

    A synthetic gradient helps only if it points with the gradient it stands
    for (cosine above 0) and is closer to it than no synthetic gradient at all
    (relative error below 1, which is what predicting zero scores). Its share
    of the boundary gradient is quoted as measured: how much of the update it
    carries, large or small.
    """
    cosine = median(seed_values(results, name, "sg_cosine"))
    if math.isnan(cosine):
        return []
    error = median(seed_values(results, name, "sg_relative_error"))
    share = median(seed_values(results, name, "sg_carried_ratio"))
    return [
        Target(f"final SG cosine with the true gradient: {name}", cosine, 0.0, ">",
               _HINTS["sg"], ".3f"),
        Target(f"final SG relative error (1 = no better than zero): {name}", error, 1.0, "<",
               _HINTS["sg"], ".3f"),
        Target(f"final SG share of the boundary gradient: {name} (quoted, no goal)", share,
               math.nan, ">=", "", ".3f"),
    ]  # fmt: skip


__all__ = [
    "CONTROL_TOLERANCE", "GAP_GOAL", "TO_TARGET_RATIO", "LMRoles", "Target", "copy_targets",
    "lm_targets", "premise_of", "seconds_premise",
]  # fmt: skip
