"""The asynchronous modes beside DNI in the feed-forward data-efficiency comparison.

DNI removes the backward lock with a synthetic gradient; the asynchronous
modes remove it with stale weights (PipeDream, PipeDream-2BW, PipeMare: a
*staleness cost*) or with a local auxiliary loss (DGL: a *local-loss cost*).
A reader weighing DNI wants each mode's cost next to DNI's
*synthetic-gradient cost*, on one model, seed by seed. For each group of the
feed-forward section (:func:`~dnibench.studies.train.section.ff_groups`: one
data set, model, K and m, with backprop and the last-stage-only baseline)
that holds an asynchronous mode, this section shows, per mode and for DNI:

- final held-out accuracy minus backprop's, and minus DNI's, per seed
  (the cost itself, in accuracy), with the order-statistic interval of
  :func:`dnibench.stats.paired`;
- samples to the group's target (the ff section's: :data:`TARGET_SHARE` x
  backprop's median final accuracy) over backprop's, per seed: a seed that
  never reaches has ratio +inf (it pushes the interval up); the ratio needs
  backprop to reach on every seed, else it reads "not testable";
- CPU seconds to the target (the training thread's, every stage's work:
  :mod:`dnibench.studies.train.asynchronous`).

Its verdicts, per asynchronous mode, under the ff section's premise
(backprop beats the baseline, paired by seed; else "not testable"):

- **close to backprop**: the share of backprop's gain over the baseline is
  at least :data:`CLOSE_SHARE` on the whole interval: DNI's claim, by the same
  rule, so the mode's verdict reads next to DNI's;
- **beats DNI**: accuracy, mode minus dni per seed, the whole interval
  above 0 (the DGL, DDG and Features Replay papers' claim).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.modes import DNI, Family, find_mode, mode_names
from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.report.verdict import Target
from dnibench.rundir.reader import raw_results, read_curves
from dnibench.stats import Paired, paired
from dnibench.studies.seeds import median, seed_values
from dnibench.studies.train.section import (
    BASELINE,
    CLOSE_SHARE,
    TARGET_SHARE,
    FFBench,
    by_seed,
    ff_groups,
    group_title,
    premise,
    reach,
)

ASYNC_MODES = mode_names(Family.ASYNC)
_DNI = DNI.regime.name
STALENESS, LOCAL_LOSS, SYNTHETIC = "staleness cost", "local-loss cost", "synthetic-gradient cost"
_HINTS = {
    STALENESS: "a smaller learning rate for the stale updates, fewer stages, or a longer budget",
    LOCAL_LOSS: "larger auxiliary heads, fewer stages, or a longer budget",
}


def cost_of(mode: str) -> str:
    """What removing the lock costs ``mode``: stale weights, a local loss or a synthetic
    gradient (read from the table of modes)."""
    row = find_mode(mode)
    if row is not None and row.asynchronous is not None:
        return LOCAL_LOSS if row.asynchronous.local_loss else STALENESS
    if row is not None and row.unlocked:
        return SYNTHETIC
    return MISSING


def _listed(cost: str) -> str:
    return ", ".join(mode for mode in ASYNC_MODES if cost_of(mode) == cost)


def _reached(samples: np.ndarray) -> dict[Hashable, float]:
    """Seed -> samples to target, +inf where the seed never reached it."""
    return {seed: math.inf if math.isnan(v) else float(v) for seed, v in enumerate(samples)}


def samples_ratio(mode: np.ndarray, backprop: np.ndarray) -> Paired | str:
    """Per seed samples to target over backprop's (+inf: the mode never reached), or why
    there is no ratio (backprop must reach on every seed)."""
    reached = int(np.isfinite(backprop).sum())
    if backprop.size == 0 or reached < backprop.size:
        return f"backprop reaches the target on {reached}/{backprop.size} seeds"
    return paired(_reached(mode), by_seed(backprop), relation="ratio")


def async_targets(acc: dict[str, np.ndarray], names: dict[str, str], label: str) -> list[Target]:
    """Each asynchronous mode's verdicts from final accuracies per role (seeds as arrays).

    ``names``: role -> its benchmark (for the verdict's name). Close to
    backprop (share of backprop's gain over the baseline, paired) and, with
    DNI in the group, better than DNI (difference, paired); every one
    "not testable" when backprop does not beat the baseline.
    """
    bp, base = acc.get("backprop"), acc.get(BASELINE)
    if bp is None or base is None:
        return []
    why = premise(bp, base)
    targets: list[Target] = []
    for mode in ASYNC_MODES:
        if mode not in acc:
            continue
        cost = cost_of(mode)
        prefix = f"{label} [{names.get(mode, mode)}]: {mode} ({cost})"
        share = paired(by_seed(acc[mode] - base), by_seed(bp - base), relation="ratio")
        targets.append(
            Target(
                f"{prefix} close to backprop: share of backprop's gain over the baseline "
                "(per seed, paired)",
                share.interval.estimate,
                CLOSE_SHARE,
                ">=",
                _HINTS[cost],
                ".2f",
                why,
                interval=share.interval,
            )
        )
        if _DNI not in acc:
            continue
        ahead = paired(by_seed(acc[mode]), by_seed(acc[_DNI]), relation="difference")
        targets.append(
            Target(
                f"{prefix} better than DNI ({SYNTHETIC}): accuracy, {mode} minus {_DNI} per "
                "seed (goal: the whole interval above 0)",
                ahead.interval.estimate,
                0.0,
                ">",
                _HINTS[cost],
                "+.4f",
                why,
                interval=ahead.interval,
            )
        )
    return targets


def _interval_cell(result: Paired | str | None, spec: str) -> str:
    if result is None:
        return MISSING
    if isinstance(result, str):
        return f"not testable ({result})"
    i = result.interval
    if i.n == 0:
        return MISSING
    if math.isinf(i.estimate):
        return "never reached"
    high = "never reached" if math.isinf(i.high) else fmt(i.high, spec)
    return f"{fmt(i.estimate, spec)} [{fmt(i.low, spec)}, {high}]"


def _reach_cell(values: np.ndarray, spec: str) -> str:
    reached = values[np.isfinite(values)]
    if values.size == 0:
        return MISSING
    if reached.size == 0:
        return f"not reached (0/{values.size})"
    text = fmt(float(np.median(reached)), spec)
    return text if reached.size == values.size else f"{text}, {reached.size}/{values.size}"


def _group_parts(
    key: tuple[tuple[str, str, int], int],
    benches: list[FFBench],
    results: pd.DataFrame,
    curves: pd.DataFrame,
) -> tuple[list[str], list[Target]]:
    title, label = group_title(*key)
    first: dict[str, FFBench] = {}
    for bench in benches:  # the first benchmark of a role stands for it, as in the ff section
        if bench.role is not None and bench.role not in first:
            first[bench.role] = bench
    acc = {role: seed_values(results, b.name, "test_accuracy") for role, b in first.items()}
    bp = acc["backprop"]
    target = TARGET_SHARE * median(bp)
    reached = {role: reach(curves, b.name, target) for role, b in first.items()}
    shown = ["backprop", *[r for r in (_DNI, *ASYNC_MODES) if r in first]]
    lines = [
        f"### {title}: asynchronous modes",
        "",
        f"Target: {TARGET_SHARE:g} x backprop's median final test accuracy = {target:.4f}. "
        "Paired cells: median [interval] over seeds; samples / backprop's is +inf "
        '("never reached") on a seed the mode never reached the target.',
        "",
        f"| mode | cost | benchmark | seeds | final test accuracy | minus backprop | minus {_DNI} "
        "| samples to target | samples / backprop's | CPU seconds to target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for role in shown:
        values = acc[role]
        minus_bp = None if role == "backprop" else paired(by_seed(values), by_seed(bp))
        minus_dni = (
            paired(by_seed(values), by_seed(acc[_DNI]))
            if _DNI in acc and role not in ("backprop", _DNI)
            else None
        )
        ratio = (
            None
            if role == "backprop"
            else samples_ratio(reached[role][:, 0], reached["backprop"][:, 0])
        )
        cost = "none (exact)" if role == "backprop" else cost_of(role)
        lines.append(
            f"| {role} | {cost} | {first[role].name} | {values.size} | "
            f"{fmt(median(values), '.4f')} | {_interval_cell(minus_bp, '+.4f')} | "
            f"{_interval_cell(minus_dni, '+.4f')} | {_reach_cell(reached[role][:, 0], '.0f')} | "
            f"{_interval_cell(ratio, '.2f')} | {_reach_cell(reached[role][:, 1], '.2f')} |"
        )
    why = premise(bp, acc[BASELINE])
    if why is not None:
        lines += ["", f"Verdicts not testable: {why}."]
    names = {role: b.name for role, b in first.items()}
    return [*lines, ""], async_targets(acc, names, label)


def _parts(run_dir: Path) -> tuple[str, list[Target]] | None:
    groups = {
        key: benches
        for key, benches in ff_groups(run_dir).items()
        if any(b.role in ASYNC_MODES for b in benches)
    }
    results = raw_results(run_dir) if groups else None
    if results is None:
        return None
    curves = read_curves(run_dir)
    lines = [
        "## Feed-forward: asynchronous modes beside DNI",
        "",
        "What removing the lock costs, seed by seed: the asynchronous pipelines train on "
        f"stale weights ({STALENESS}: {_listed(STALENESS)}), the local-loss modes on their "
        f"auxiliary losses ({LOCAL_LOSS}: {_listed(LOCAL_LOSS)}), DNI on synthetic gradients "
        f"({SYNTHETIC}). Each asynchronous mode is trained by replaying its whole-run "
        "schedule in one process (each stage's actions as a dist rank runs them); its CPU "
        "seconds are the training thread's over every stage's work. Differences and ratios "
        "pair the seeds (same initialisation and data order) with the order-statistic "
        "interval (for 5 seeds [min, max], 93.75%). Verdicts, under the ff section's premise "
        f'(backprop beats the {BASELINE} baseline, paired by seed; else "not testable"): '
        f"close to backprop (share of backprop's gain over the baseline >= {CLOSE_SHARE:g}, "
        "DNI's claim by the same rule) and better than DNI (accuracy difference above 0).",
        "",
    ]
    targets: list[Target] = []
    for key, benches in groups.items():
        group_lines, group_targets = _group_parts(key, benches, results, curves)
        lines += group_lines
        targets += group_targets
    lines += [
        "### Asynchronous-mode verdicts",
        "",
        "| target | measured | goal | verdict | missed by | what would change it |",
        "|---|---:|---:|---|---:|---|",
        *[target.row() for target in targets],
        "",
    ]
    return "\n".join(lines), targets


def async_section(run_dir: Path) -> Section | None:
    """The section for :mod:`dnibench.studies.registry` (None: no asynchronous mode in an ff
    group with backprop and the baseline)."""
    found = _parts(Path(run_dir))
    if found is None:
        return None
    markdown, targets = found
    return Section(markdown, verdicts=tuple(t.record("train") for t in targets))


__all__ = [
    "ASYNC_MODES", "LOCAL_LOSS", "STALENESS", "SYNTHETIC", "async_section", "async_targets",
    "cost_of", "samples_ratio",
]  # fmt: skip
