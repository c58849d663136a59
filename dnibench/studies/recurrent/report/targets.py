"""The recurrent targets: each measured, judged against its goal, and first against its premise.

A verdict is a measurement too. Every character-LM target that compares DNI
with tbptt-40 needs tbptt-40 to beat tbptt-8 in the same run (the premise of
:class:`~dnibench.studies.recurrent.report.figures.Premise`); where it does not, the
verdict is "not testable", never "met". Targets (Jaderberg et al. 2017's
claim that DNI at T = 8 captures what T = 40 captures with about half the
data, scaled to this run):

- gap closed by dni-8 (and dni-8+aux) at equal characters and at equal
  seconds, per seed against that seed's baselines: goal >= 1 (it matches
  tbptt-40);
- characters and seconds to reach tbptt-40's best validation BPC, dni / tbptt-40
  per seed: goal <= 0.6 (about half);
- dni-8 better than tbptt-8, BPC paired by seed: goal > 0 (needs no premise);
- the control (dni-8 with the synthetic gradient forced to zero) equals
  tbptt-8: a check that the comparison measures the SG and nothing else;
- no dni-8 seed diverged;
- the SG against its ceiling (:mod:`dnibench.studies.recurrent.ceiling`):
  the learned SG's held-out R^2 at least half the ridge ceiling's, per seed;
  "not testable" where the ceiling's R^2 is below :data:`CEILING_FLOOR`;
- dni-8's share of TBPTT(8, 40)'s gain over tbptt-8, per seed (quoted).

Every comparison over seeds is paired by seed and decided by the one interval
helper (:mod:`dnibench.stats`, through :mod:`.paired`): "met" when the
interval lies wholly on the goal's side, "missed" wholly on the other,
"inconclusive" when it straddles the goal.

Copy tasks: at every T and task, dni-tbptt solves a longer length than tbptt,
paired by seed, premise-checked (:func:`copy_tables.copy_targets`). "missed
by" says how far the measured value is from the goal in the goal's own units.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
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
)
from dnibench.studies.recurrent.report.paired import (
    PairedTarget,
    by_seed,
    interval_of,
    related,
)

GAP_GOAL = 1.0
TO_TARGET_RATIO = 0.6
CONTROL_TOLERANCE = 1e-6
#: Half the ceiling's held-out R^2: what the learned SG must reach.
CEILING_SHARE = 0.5
#: Below this ceiling R^2 no linear SG can help, and the SG verdict is not testable.
CEILING_FLOOR = 0.01
NO_LINEAR_SG = "no linear SG can help in this regime"

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
    window: str | None = None  # tbptt-window, T = 8 (TBPTT(8, 40))
    sweep: list[str] = field(default_factory=list)  # dni-tbptt, T = 8, other scales

    @property
    def dnis(self) -> list[str]:
        """The DNI benchmarks judged against the baselines (not the control)."""
        return [name for name in (self.dni, self.aux, *self.sweep) if name is not None]


def _seeds(values: np.ndarray) -> dict[Hashable, float]:
    """Values in repeat order keyed by repeat (the pairing key), NaN dropped."""
    return {i: float(v) for i, v in enumerate(values) if not math.isnan(v)}


def _late(values: np.ndarray) -> dict[Hashable, float]:
    """Per seed, characters (or seconds) to a target, never reaching it counting as +inf.

    A DNI seed that never reaches the target within its budget is infinitely
    late, so a DNI that never gets there misses the goal instead of going
    unmeasured.
    """
    return {i: (math.inf if math.isnan(v) else float(v)) for i, v in enumerate(values)}


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
            closed = interval_of(_seeds(gap_closed(dni, premise.short, premise.long)))
            targets.append(
                PairedTarget(
                    f"gap closed at equal characters, per seed: {name}",
                    closed.estimate,
                    GAP_GOAL,
                    ">=",
                    _HINTS["close"],
                    ".2f",
                    why,
                    interval=closed,
                )
            )
            if timed is not None:
                timed_closed = interval_of(
                    _seeds(gap_closed(cut_bpc[name], timed.short, timed.long))
                )
                targets.append(
                    PairedTarget(
                        f"gap closed at equal seconds ({cut:.0f} s), per seed: {name}",
                        timed_closed.estimate,
                        GAP_GOAL,
                        ">=",
                        _HINTS["seconds"],
                        ".2f",
                        timed_why,
                        interval=timed_closed,
                    )
                )
            dni_reach = reach(curves, name, target_bpc)
            for column, label, hint in ((0, "characters", "chars"), (1, "seconds", "seconds")):
                ratio = related(_late(dni_reach[:, column]), _seeds(long_reach[:, column]), "ratio")
                targets.append(
                    PairedTarget(
                        f"{label} to {roles.long}'s best validation BPC "
                        f"({target_bpc:.3f}), per seed: {name} / {roles.long}",
                        ratio.estimate,
                        TO_TARGET_RATIO,
                        "<=",
                        _HINTS[hint],
                        ".2f",
                        why,
                        interval=ratio,
                        decide="<",
                    )
                )
    if roles.short is not None:
        short = seed_values(results, roles.short)
        for name in judged:
            better = related(_seeds(short), _seeds(seed_values(results, name)), "difference")
            targets.append(
                PairedTarget(
                    f"BPC: {roles.short} minus {name}, per seed",
                    better.estimate,
                    0.0,
                    ">",
                    _HINTS["spread"],
                    "+.3f",
                    interval=better,
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
    targets += window_targets(results, roles)
    return targets


def window_targets(results: pd.DataFrame, roles: LMRoles) -> list[Target]:
    """dni-8's share of TBPTT(8, 40)'s gain over tbptt-8, per seed (quoted: no goal).

    TBPTT(8, 40) updates as often as tbptt-8 but backpropagates 40 steps, so
    its gain over tbptt-8 is what a perfect synthetic gradient at T = 8 could
    recover; the share is (tbptt-8 - dni-8) / (tbptt-8 - TBPTT(8, 40)), seed
    by seed. Its own gain over tbptt-8 is quoted beside it.
    """
    if roles.window is None or roles.short is None:
        return []
    short, window = seed_values(results, roles.short), seed_values(results, roles.window)
    gain = related(_seeds(short), _seeds(window), "difference")
    targets: list[Target] = [
        PairedTarget(
            f"BPC: {roles.short} minus {roles.window} (TBPTT(8, 40)), per seed",
            gain.estimate,
            math.nan,
            ">",
            "",
            "+.3f",
            interval=gain,
        )
    ]
    if roles.dni is not None:
        share = interval_of(_seeds(gap_closed(seed_values(results, roles.dni), short, window)))
        targets.append(
            PairedTarget(
                f"share of TBPTT(8, 40)'s gain recovered, per seed: {roles.dni}",
                share.estimate,
                math.nan,
                ">=",
                "",
                ".2f",
                interval=share,
            )
        )
    return targets


def sg_quality_targets(results: pd.DataFrame, name: str) -> list[Target]:
    """The SG against the best linear SG (the ceiling), and its last probe's figures, quoted.

    Cosine above 0 and relative error below 1 pass about half the time for
    an SG worth nothing, and a cosine near 0 cannot tell a useless SG from
    an unpredictable target, so they are quoted, not judged. The verdict is
    the ceiling's: per seed, the learned SG's held-out R^2 minus half the
    ridge ceiling's (same windows, same discounted target), goal > 0; "not
    testable" when the ceiling's R^2 (median over seeds) is below
    :data:`CEILING_FLOOR`: then no linear SG can help in this regime.
    """
    targets: list[Target] = []
    learned, ceiling = by_seed(results, name, "sg_r2"), by_seed(results, name, "ceiling_r2")
    if learned or ceiling:
        floor = median(np.array(list(ceiling.values()), dtype=float))
        why = None
        if math.isfinite(floor) and floor < CEILING_FLOOR:
            why = f"the ceiling's held-out R^2 is {floor:.3f} < {CEILING_FLOOR}: {NO_LINEAR_SG}"
        half = {seed: CEILING_SHARE * value for seed, value in ceiling.items()}
        above = related(learned, half, "difference")
        targets += [
            PairedTarget(
                f"SG held-out R^2 minus half the ridge ceiling's, per seed: {name}",
                above.estimate,
                0.0,
                ">",
                _HINTS["sg"],
                "+.3f",
                why,
                interval=above,
            ),
            _quoted(
                f"ridge ceiling's held-out R^2 at the run's gamma: {name}",
                by_seed(results, name, "ceiling_r2"),
            ),
            _quoted(
                f"ridge ceiling's held-out R^2 at gamma 1: {name}",
                by_seed(results, name, "ceiling_r2_gamma1"),
            ),
            _quoted(f"SG held-out R^2: {name}", learned),
            _quoted(
                f"ridge ceiling's held-out cosine: {name}", by_seed(results, name, "ceiling_cosine")
            ),
        ]
    cosine = by_seed(results, name, "sg_cosine")
    if not cosine:
        return targets
    return [
        *targets,
        _quoted(f"final SG cosine with the true gradient: {name}", cosine),
        _quoted(
            f"final SG relative error (1 = no better than zero): {name}",
            by_seed(results, name, "sg_relative_error"),
        ),
        _quoted(
            f"final SG share of the boundary gradient: {name}",
            by_seed(results, name, "sg_carried_ratio"),
        ),
    ]


def _quoted(name: str, values: dict[Hashable, float]) -> PairedTarget:
    interval = interval_of(values)
    return PairedTarget(
        f"{name} (quoted, no goal)", interval.estimate, math.nan, ">=", "", ".3f", interval=interval
    )


__all__ = [
    "CEILING_FLOOR", "CEILING_SHARE", "CONTROL_TOLERANCE", "GAP_GOAL", "NO_LINEAR_SG",
    "TO_TARGET_RATIO", "LMRoles", "Target", "copy_targets", "lm_targets", "premise_of",
    "seconds_premise", "sg_quality_targets", "window_targets",
]  # fmt: skip
