"""The feed-forward report section: every regime against backprop and a no-backprop baseline.

The DNI paper's feed-forward claims (Jaderberg et al. 2017, section 3.3),
each judged as a measured verdict with its premise checked in the same run:

- **premise**: backprop beats the *last-stage-only* baseline (the same net
  with every stage but the last frozen at its initial weights, so only the
  classifier learns, on random features): the interval of the per-seed
  differences lies wholly above 0. If it does not, training the hidden
  stages buys nothing on this task, and no claim about how well a regime
  trains them can be tested;
- **DNI is close to backprop**: DNI recovers at least :data:`CLOSE_SHARE`
  of backprop's gain over the baseline, seed by seed (the whole interval);
- **cDNI is better than DNI**: the per-seed differences' interval lies
  wholly above 0 (needs DNI itself to beat the baseline);
- **complete unlock trains**: unlock beats the baseline, the per-seed
  differences' interval wholly above 0.

Seeds share initialisation and data order across regimes, so every claim
pairs them by seed (:func:`dnibench.stats.paired`); nothing is divided by
a median baseline.

Benchmarks are recognised by configuration (the run's config), not by name:
a group is one (data, model, stages) at one microbatch count m; in it the
regimes are the ``mode`` of benchmarks with no frozen stage, and the baseline
is the backprop benchmark with ``frozen_stages = stages - 1``. The first
benchmark of a role stands for it in the other claims; a second one (say unlock with tuned synthetic
inputs) gets its own verdict on its own claim. The section appears only for groups
that have both backprop and the baseline. Samples and seconds to target use
a target set by the run itself: :data:`TARGET_SHARE` times backprop's median
final test accuracy, read at the first evaluation that reaches it
(:func:`dnibench.target_reach.first_reach`, no interpolation).
Seconds are CPU seconds of the training steps (:mod:`dnibench.train`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench import target_reach
from dnibench.data import TOKEN_DATA
from dnibench.modes import CDNI, DNI, UNLOCK, regime_names
from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.report.verdict import Target
from dnibench.rundir.reader import Spec, raw_results, read_config, read_curves
from dnibench.stats import Paired, Verdict, paired
from dnibench.studies.seeds import MIN_SEEDS, median, seed_values

TARGET_SHARE = 0.95
CLOSE_SHARE = 0.9
REGIME_ORDER = regime_names()
# The regimes the claims are about (train's modes), named by the table of modes.
_DNI, _CDNI, _UNLOCK = DNI.regime.name, CDNI.regime.name, UNLOCK.regime.name
CLAIM_OF = {_DNI: "DNI close", _CDNI: "cDNI better", _UNLOCK: "complete unlock"}
BASELINE = "last stage only"

_HINTS = {
    "close": "a larger SG (sg_hidden, sg_width), a tuned sg_lr, or fewer stages",
    _CDNI: "more seeds (a tighter spread) or a longer budget; cDNI's label context helps "
    "most where the SG alone predicts the gradient poorly",
    _UNLOCK: "tuning the synthetic inputs (si_hidden, si_width, si_lr) or fewer stages",
}


@dataclass(frozen=True)
class FFBench:
    """One training benchmark of the run: its name and configuration (from the run's config)."""

    name: str
    spec: Spec

    @property
    def pipeline(self) -> Spec:
        pipeline = self.spec.get("pipeline")
        return Spec(pipeline if isinstance(pipeline, dict) else {})

    @property
    def stages(self) -> int:
        return self.pipeline.integer("stages", 1)

    @property
    def group(self) -> tuple[str, str, int]:
        """(data, model, stages): the benchmarks compared with each other."""
        return str(self.spec.get("data")), str(self.pipeline.get("model")), self.stages

    @property
    def microbatches(self) -> int:
        """Microbatches per step: benchmarks compare only at the same m (same batches, and
        the asynchronous modes' m >= K)."""
        return self.spec.integer("microbatches", 1)

    @property
    def frozen(self) -> int:
        return self.spec.integer("frozen_stages", 0)

    @property
    def role(self) -> str | None:
        """The regime it stands for, :data:`BASELINE`, or None (other frozen counts)."""
        if self.frozen == 0:
            return str(self.spec.get("mode"))
        if self.frozen == self.stages - 1 and self.spec.get("mode") == "backprop":
            return BASELINE
        return None


def is_language_model(bench: FFBench) -> bool:
    """Whether ``bench`` trains on a token corpus: the language-model section reports it
    (:mod:`dnibench.studies.train.lm_section`), by held-out loss, not here."""
    return str(bench.spec.get("data")) in TOKEN_DATA


def train_benches(run_dir: Path) -> list[FFBench]:
    """The training benchmarks in the run's config, in run order."""
    entries = read_config(run_dir).of_kind("train")
    return [FFBench(e.name, e.spec) for e in entries]


def first_reach(run: pd.DataFrame, target: float) -> tuple[float, float]:
    """Samples and seconds at the first evaluation of one run reaching ``target`` (NaN: never)."""
    rows = run.sort_values("samples")[["samples", "seconds", "test_accuracy"]]
    return target_reach.first_reach(rows.to_numpy(dtype=float), target, higher_is_better=True)


def reach(curves: pd.DataFrame, bench: str, target: float) -> np.ndarray:
    """``(seeds, 2)``: samples and seconds to ``target`` per seed of ``bench``."""
    frame = curves[curves["benchmark"] == bench]
    rows = [first_reach(run, target) for _, run in frame.groupby("repeat")]
    return np.array(rows, dtype=float).reshape(-1, 2)


def _spread_cell(values: np.ndarray, spec: str) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return MISSING
    text = fmt(float(np.median(finite)), spec)
    if finite.size > 1:
        text += f" ({fmt(float(finite.min()), spec)}-{fmt(float(finite.max()), spec)})"
    return text


def _reach_cell(values: np.ndarray, spec: str) -> str:
    if values.size == 0:
        return MISSING
    reached = values[np.isfinite(values)]
    if reached.size == 0:
        return f"not reached (0/{values.size})"
    text = _spread_cell(reached, spec)
    return text if reached.size == values.size else f"{text}, {reached.size}/{values.size}"


def by_seed(values: np.ndarray) -> dict[Hashable, float]:
    """Seed (repeat index) -> value, NaN (not measured) left out, for pairing by seed."""
    return {seed: float(v) for seed, v in enumerate(values) if not math.isnan(v)}


def _gain(a: np.ndarray, b: np.ndarray) -> Paired:
    """a - b paired by seed (same initialisation and data order in both)."""
    return paired(by_seed(a), by_seed(b), relation="difference")


def premise(bp: np.ndarray, base: np.ndarray) -> str | None:
    """None when backprop beats the baseline on every seed's interval, else why not."""
    seeds = int(min(np.isfinite(bp).sum(), np.isfinite(base).sum()))
    if seeds < MIN_SEEDS:
        return f"needs {MIN_SEEDS} seeds of backprop and of the baseline, has {seeds}"
    gain = _gain(bp, base)
    if gain.decide(0.0, ">") != Verdict.MET:
        i = gain.interval
        return (
            f"backprop does not beat the {BASELINE} baseline here (paired by seed: "
            f"{i.estimate:+.4f} [{i.low:+.4f}, {i.high:+.4f}])"
        )
    return None


def group_targets(acc: dict[str, np.ndarray]) -> list[Target]:
    """The claims' verdicts from final test accuracies per role (seeds as arrays).

    Every comparison is paired by seed (the seeds share initialisation and
    data order across regimes) and decided by the interval of
    :func:`dnibench.stats.paired`: met only when it lies wholly on the
    claimed side of the goal, inconclusive when it straddles it.
    """
    bp, base = acc.get("backprop"), acc.get(BASELINE)
    if bp is None or base is None:
        return []
    why = premise(bp, base)
    targets = []
    if _DNI in acc:
        share = paired(by_seed(acc[_DNI] - base), by_seed(bp - base), relation="ratio")
        targets.append(
            Target(
                "DNI close to backprop: share of backprop's gain over the baseline "
                "(per seed, paired)",
                share.interval.estimate,
                CLOSE_SHARE,
                ">=",
                _HINTS["close"],
                ".2f",
                why,
                interval=share.interval,
            )
        )
    if _DNI in acc and _CDNI in acc:
        dni, cdni = acc[_DNI], acc[_CDNI]
        dni_why = why
        if dni_why is None and _gain(dni, base).decide(0.0, ">") != Verdict.MET:
            dni_why = f"DNI does not beat the {BASELINE} baseline (paired by seed)"
        better = _gain(cdni, dni)
        targets.append(
            Target(
                "cDNI better than DNI: accuracy, cDNI minus DNI per seed (goal: the whole "
                "interval above 0)",
                better.interval.estimate,
                0.0,
                ">",
                _HINTS[_CDNI],
                "+.4f",
                dni_why,
                interval=better.interval,
            )
        )
    if _UNLOCK in acc:
        trains = _gain(acc[_UNLOCK], base)
        targets.append(
            Target(
                f"complete unlock trains: accuracy, unlock minus {BASELINE} per seed "
                "(goal: the whole interval above 0)",
                trains.interval.estimate,
                0.0,
                ">",
                _HINTS[_UNLOCK],
                "+.4f",
                why,
                interval=trains.interval,
            )
        )
    return targets


def group_title(group: tuple[str, str, int], microbatches: int) -> tuple[str, str]:
    """A group's heading and its verdicts' label (m named only where it is not 1)."""
    data, model, stages = group
    if microbatches == 1:
        return f"{data}, {model}, {stages} stages", f"{data} {model} K={stages}"
    return (
        f"{data}, {model}, {stages} stages, {microbatches} microbatches",
        f"{data} {model} K={stages} m={microbatches}",
    )


def ff_groups(run_dir: Path) -> dict[tuple[tuple[str, str, int], int], list[FFBench]]:
    """The feed-forward benchmarks by (data, model, stages) and m, with backprop and the
    baseline in the group (the groups the section judges)."""
    groups: dict[tuple[tuple[str, str, int], int], list[FFBench]] = {}
    for bench in train_benches(run_dir):
        if bench.role is not None and not is_language_model(bench):
            groups.setdefault((bench.group, bench.microbatches), []).append(bench)
    return {k: v for k, v in groups.items() if {"backprop", BASELINE} <= {b.role for b in v}}


def _group_lines(
    group: tuple[str, str, int],
    microbatches: int,
    benches: list[FFBench],
    results: pd.DataFrame,
    curves: pd.DataFrame,
) -> tuple[list[str], list[Target]]:
    title, label = group_title(group, microbatches)
    order = (*REGIME_ORDER, BASELINE)
    ordered = sorted(benches, key=lambda b: order.index(b.role) if b.role in order else len(order))
    values_of = {b.name: seed_values(results, b.name, "test_accuracy") for b in ordered}
    acc: dict[str, np.ndarray] = {}
    for bench in ordered:  # the first benchmark of a role stands for it
        if bench.role is not None and bench.role not in acc:
            acc[bench.role] = values_of[bench.name]
    target = TARGET_SHARE * median(acc["backprop"])
    lines = [
        f"### {title}",
        "",
        f"Target: {TARGET_SHARE:g} x backprop's median final test accuracy = {target:.4f}. "
        "Cells: median (min-max) over seeds; to-target cells count only the seeds that "
        "reached it (k/n when not all did); seconds are CPU seconds of the training steps.",
        "",
        "| regime | benchmark | seeds | final test accuracy | samples to target "
        "| seconds to target |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for bench in ordered:
        values = seed_values(results, bench.name, "test_accuracy")
        reached = reach(curves, bench.name, target)
        lines.append(
            f"| {bench.role or bench.spec.get('mode')} | {bench.name} | {values.size} | "
            f"{_spread_cell(values, '.4f')} | {_reach_cell(reached[:, 0], '.0f')} | "
            f"{_reach_cell(reached[:, 1], '.2f')} |"
        )
    named: list[Target] = []
    canonical: dict[str, str | None] = dict.fromkeys(acc)
    for bench in ordered:
        role = bench.role
        if role not in CLAIM_OF:
            continue
        first = canonical.get(role) is None
        canonical[role] = canonical.get(role) or bench.name
        variant = acc if first else {**acc, role: values_of[bench.name]}
        for t in group_targets(variant):
            if t.name.startswith(CLAIM_OF[role]):
                named.append(replace(t, name=f"{label} [{bench.name}]: {t.name}"))
    return [*lines, ""], named


def ff_section_markdown(run_dir: Path) -> str | None:
    """The section's Markdown, or None when no group has both backprop and the baseline."""
    found = _ff_parts(run_dir)
    return found[0] if found is not None else None


def _ff_parts(run_dir: Path) -> tuple[str, list[Target]] | None:
    """The section's Markdown and its verdicts (None: no group with backprop and baseline)."""
    run_dir = Path(run_dir)
    wanted = ff_groups(run_dir)
    results = raw_results(run_dir) if wanted else None
    if results is None:
        return None
    curves = read_curves(run_dir)
    lines = [
        "## Feed-forward: regimes against backprop and a no-backprop baseline",
        "",
        f"The baseline ({BASELINE}) is backprop with every stage but the last frozen at its "
        "initial weights: the accuracy a net gets without training its hidden stages. "
        'Each claim of the DNI paper is a verdict below, "not testable" when its premise '
        "(backprop beats that baseline, paired by seed) fails in this run. Every comparison "
        "pairs the seeds (same initialisation and data order) and is decided by the interval "
        "of the per-seed values (median, order-statistic interval; for 5 seeds [min, max] "
        "covers 93.75%): met when it lies wholly on the claimed side, inconclusive when it "
        "straddles the goal.",
        "",
    ]
    targets: list[Target] = []
    for (group, microbatches), members in wanted.items():
        group_lines, group_verdicts = _group_lines(group, microbatches, members, results, curves)
        lines += group_lines
        targets += group_verdicts
    lines += [
        "### Feed-forward verdicts",
        "",
        "| target | measured | goal | verdict | missed by | what would change it |",
        "|---|---:|---:|---|---:|---|",
        *[target.row() for target in targets],
        "",
    ]
    return "\n".join(lines), targets


def ff_section(run_dir: Path) -> Section | None:
    """The section for :mod:`dnibench.studies.registry` (None when the run has no ff groups)."""
    found = _ff_parts(run_dir)
    if found is None:
        return None
    markdown, targets = found
    return Section(markdown, verdicts=tuple(t.record("train") for t in targets))


__all__ = [
    "BASELINE", "CLOSE_SHARE", "TARGET_SHARE", "FFBench", "by_seed", "ff_groups", "ff_section",
    "ff_section_markdown", "first_reach", "group_targets", "group_title", "is_language_model",
    "premise", "reach", "train_benches",
]  # fmt: skip
