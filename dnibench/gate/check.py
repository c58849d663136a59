"""The CI regression gate: did a run get slower than its baseline, beyond noise?

A benchmark regresses only when two things hold at once:

- the shift is *real*: a one-sided Mann-Whitney U test (rank-based, so it
  assumes no normality and shrugs off the stray slow window a loaded CI box
  produces) puts current below baseline (or above, for lower-is-better
  metrics) with p < ``alpha``;
- the shift *matters*: the medians moved the bad way by more than the
  metric's relative threshold (10 % by default).

Either alone is a poor gate: with 75 windows a side the test finds 2 %
shifts nobody cares about, and a threshold alone fires on one noisy run.
An improvement is the same rule in the good direction and never fails.

Absolute numbers only compare on the same machine. Same-run *ratios*
(``dni-m8`` throughput / ``1f1b-m8`` throughput) cancel the machine's speed,
so a baseline committed from a laptop can gate a CI runner:
``absolute=False`` checks the ratios alone.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from dnibench.bench.corpus_guard import refuse_mixed_corpora
from dnibench.errors import UserError, unknown_name
from dnibench.gate.report import CheckReport, GateRow, Verdict
from dnibench.gate.runs import (
    PIPELINE,
    SAMPLE_UNITS,
    WINDOW_PREFIX,
    RunFilter,
    benchmark_names,
    load_failures,
    load_filter,
    load_results,
    metric_samples,
    metric_stages,
    pooled,
)

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_RATIO_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "DIRECTIONS",
    "CheckReport",
    "GateRow",
    "RatioSpec",
    "Threshold",
    "Verdict",
    "check_metric",
    "check_runs",
    "compare_samples",
    "ratio_samples",
    "relative_change",
    "samples_needed",
]

DEFAULT_ALPHA = 0.01
DEFAULT_THRESHOLD = 0.10
DEFAULT_RATIO_THRESHOLD = 0.10
MIN_SAMPLES = 3

#: Metric -> whether higher is better. Metrics that move both ways for good
#: reasons (busy fraction rises when compute slows down; CPU use) are left out
#: on purpose: a gate on them would fire on improvements.
DIRECTIONS: dict[str, bool] = {
    "throughput": True,
    "throughput_mean": True,
    "ideal_throughput": True,
    "pipeline_efficiency": True,
    "sg_cosine": True,
    "throughput_iqr": False,
    "wall": False,
    "busy_per_microbatch": False,
    "peak_rss": False,
    "wait_activation_fraction": False,
    "wait_gradient_fraction": False,
    "comm_fraction": False,
    "unattributed_fraction": False,
    "final_loss": False,
    # training benchmarks
    "test_accuracy": True,
    "test_loss": False,
    "train_loss": False,
    "train_seconds": False,
    "samples_to_target": False,
    "seconds_to_target": False,
}
_NO_DIRECTION = ("busy_fraction", "cpu_utilisation", "spans_per_step", "samples")


@dataclass(frozen=True)
class Threshold:
    """How far a metric's median may move the bad way before it counts.

    ``relative`` is a fraction of the baseline median (0.10: 10 %);
    ``higher_is_better`` says which way is bad.
    """

    relative: float = DEFAULT_THRESHOLD
    higher_is_better: bool = True

    @classmethod
    def for_metric(cls, metric: str, relative: float | None = None) -> Threshold:
        """The threshold of a known metric (see :data:`DIRECTIONS`)."""
        check_metric(metric)
        return cls(DEFAULT_THRESHOLD if relative is None else relative, DIRECTIONS[metric])

    def worsening(self, change: float) -> float:
        """``change`` re-signed so that positive always means worse."""
        return -change if self.higher_is_better else change

    def is_worse(self, change: float) -> bool:
        return self.worsening(change) > self.relative

    def is_better(self, change: float) -> bool:
        return -self.worsening(change) > self.relative


@dataclass(frozen=True)
class RatioSpec:
    """A same-run ratio, ``numerator``'s metric over ``denominator``'s.

    The direction follows the metric: a throughput ratio is better higher,
    a wall-time ratio better lower.
    """

    name: str
    numerator: str
    denominator: str
    metric: str = "throughput"


def check_metric(metric: str) -> None:
    """Raise a :class:`UserError` unless ``metric`` can be gated."""
    if metric in DIRECTIONS:
        return
    if metric.startswith(WINDOW_PREFIX):
        raise UserError(f"metric {metric!r}: gate on 'throughput', which tests every window")
    if metric in _NO_DIRECTION:
        raise UserError(
            f"metric {metric!r} has no direction that is always better, so it cannot be "
            f"gated; gateable metrics: {', '.join(sorted(DIRECTIONS))}"
        )
    raise unknown_name("metric", metric, DIRECTIONS)


def relative_change(baseline: float, current: float) -> float:
    """(current - baseline) / baseline; +-inf or 0 when the baseline is 0."""
    if baseline == 0:
        return 0.0 if current == 0 else math.copysign(math.inf, current)
    return (current - baseline) / abs(baseline)


def compare_samples(
    baseline: np.ndarray, current: np.ndarray, threshold: Threshold, alpha: float = DEFAULT_ALPHA
) -> tuple[Verdict, float, float, str]:
    """Verdict, relative change of medians, p-value and an explanation.

    With too few samples the verdict is NOT ENOUGH DATA rather than OK: also
    when the sizes make p < ``alpha`` impossible (3 against 3 repeats can
    reach p = 0.05 at best), since a gate that cannot fire must say so.
    """
    baseline = np.asarray(baseline, dtype=float)
    current = np.asarray(current, dtype=float)
    nb, nc = baseline.size, current.size
    base_median = float(np.median(baseline)) if nb else math.nan
    cur_median = float(np.median(current)) if nc else math.nan
    if min(nb, nc) < MIN_SAMPLES:
        return Verdict.NOT_ENOUGH_DATA, math.nan, math.nan, f"needs >= {MIN_SAMPLES} samples a side"
    change = relative_change(base_median, cur_median)
    best_p = 1 / math.comb(nb + nc, nb)
    if best_p >= alpha:
        return (
            Verdict.NOT_ENOUGH_DATA,
            change,
            math.nan,
            f"{nb} vs {nc} samples cannot reach p < {alpha:g} (best {best_p:.2g}); "
            f"record >= {samples_needed(alpha)} repeats a side",
        )
    bad, good = ("less", "greater") if threshold.higher_is_better else ("greater", "less")
    p_bad = _p_value(current, baseline, bad)
    p_good = _p_value(current, baseline, good)
    worse = threshold.worsening(change)
    limit = f"threshold {threshold.relative:.0%}"
    if p_bad < alpha and threshold.is_worse(change):
        return Verdict.REGRESSION, change, p_bad, f"worse by {worse:.1%} ({limit})"
    if p_good < alpha and threshold.is_better(change):
        return Verdict.IMPROVED, change, p_good, f"better by {-worse:.1%} ({limit})"
    p_shown = p_bad if worse > 0 else p_good
    if min(p_bad, p_good) < alpha:
        return Verdict.OK, change, p_shown, f"significant but within {limit}"
    return Verdict.OK, change, p_shown, "no significant change"


def samples_needed(alpha: float) -> int:
    """Fewest samples a side with which a one-sided U test can reach p < ``alpha``.

    The smallest exact p-value of n against n samples is 1 / C(2n, n): 0.05
    for 3 repeats, 0.014 for 4, 0.004 for 5, so per-repeat metrics need 5
    repeats to be gated at the default alpha of 0.01.
    """
    n = 1
    while 1 / math.comb(2 * n, n) >= alpha:
        n += 1
    return n


def _p_value(current: np.ndarray, baseline: np.ndarray, alternative: str) -> float:
    if np.all(current == current[0]) and np.all(baseline == current[0]):
        return 1.0  # identical constants: no evidence either way (scipy agrees, noisily)
    p = float(mannwhitneyu(current, baseline, alternative=alternative).pvalue)
    return 1.0 if math.isnan(p) else p


def ratio_samples(frame: pd.DataFrame, spec: RatioSpec, unit: str = "repeats") -> np.ndarray:
    """Same-run ratio samples: each numerator sample over its repeat's denominator median.

    Repeat ``r`` of the numerator is paired with repeat ``r`` of the
    denominator because a session runs the whole grid once per repeat, so
    the pair shared the machine's state (thermal, neighbours) and that
    drift cancels. Dividing each numerator window by the denominator's
    median *within that repeat* keeps the numerator's window-to-window
    spread as the sample size (25 a repeat, enough for the U test) without
    inventing a window-to-window pairing that does not exist: window ``i`` of
    two benchmarks ran at different times. Per-repeat metrics (one value a
    repeat) reduce to numerator_r / denominator_r.
    """
    numerator = metric_samples(frame, spec.numerator, spec.metric, unit=unit)
    denominator = metric_samples(frame, spec.denominator, spec.metric, unit=unit)
    parts = []
    for repeat in sorted(set(numerator) & set(denominator)):
        scale = float(np.median(denominator[repeat]))
        if scale != 0:
            parts.append(numerator[repeat] / scale)
    return np.concatenate(parts) if parts else np.empty(0)


def _validate(
    thresholds: dict[str, float],
    alpha: float,
    metrics: Sequence[str],
    ratios: Sequence[RatioSpec],
    absolute: bool,
) -> None:
    if not 0 < alpha < 1:
        raise UserError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    for metric in metrics:
        check_metric(metric)
    names = [spec.name for spec in ratios]
    if len(set(names)) != len(names):
        raise UserError(f"ratio names must be unique, got {', '.join(names)}")
    for spec in ratios:
        check_metric(spec.metric)
    for key, value in thresholds.items():
        if key not in DIRECTIONS and key not in names:
            raise UserError(
                f"threshold for unknown {key!r}{_hint(key, [*DIRECTIONS, *names])}; keys are "
                f"metric names ({', '.join(sorted(DIRECTIONS))}) or ratio names"
            )
        if not value >= 0:
            raise UserError(f"threshold for {key!r} must be >= 0 (a fraction), got {value}")
    if not absolute and not ratios:
        raise UserError("absolute=False checks ratios only, but no ratio was given; add a ratio")
    if absolute and not metrics and not ratios:
        raise UserError("nothing to check: give at least one metric or ratio")


def check_runs(
    baseline: Path,
    current: Path,
    *,
    thresholds: dict[str, float] | None = None,
    alpha: float = DEFAULT_ALPHA,
    metrics: Sequence[str] = ("throughput",),
    ratios: Sequence[RatioSpec] = (),
    absolute: bool = True,
    unit: str = "repeats",
) -> CheckReport:
    """Gate ``current`` against ``baseline``: absolute metrics and same-run ratios.

    ``unit`` is what one sample is: ``"repeats"`` (one value per launch, the
    honest unit on a shared machine) or ``"windows"`` (per-step windows
    pooled over repeats; more power, but only valid when windows are
    independent, see :mod:`dnibench.gate.runs`).

    ``thresholds`` maps a metric or ratio name to its relative threshold
    (default 10 % each). ``absolute=False`` skips the per-benchmark metrics
    and checks only the ratios, the comparison that survives a change of
    machine. Benchmarks of the baseline missing from the current run fail
    the gate; new ones are listed. A ratio whose benchmark a run's ``--only``
    left out is NOT MEASURED (no failure); when no row had enough data to
    decide, :attr:`CheckReport.inconclusive` says so (``check`` exits 2).
    Rows are read with :func:`~dnibench.gate.runs.load_results`, which refuses
    a cut-off row, a non-number and an infinite value, naming file and line.
    """
    refuse_mixed_corpora([baseline, current])
    thresholds = dict(thresholds or {})
    _validate(thresholds, alpha, metrics, ratios, absolute)
    if unit not in SAMPLE_UNITS:
        raise UserError(f"sample unit must be one of {', '.join(SAMPLE_UNITS)}, got {unit!r}")
    baseline, current = Path(baseline), Path(current)
    base_frame, cur_frame = load_results(baseline), load_results(current)
    filters = (load_filter(baseline, "baseline"), load_filter(current, "current"))
    base_names, cur_names = benchmark_names(base_frame), benchmark_names(cur_frame)
    base_set, cur_set = set(base_names), set(cur_names)
    common = [name for name in base_names if name in cur_set]
    if not common:
        raise UserError(
            f"no benchmark in common between baseline {baseline} ({_few(base_names)}) and "
            f"current {current} ({_few(cur_names)}); compare runs of the same grid"
        )
    report = CheckReport(baseline=baseline, current=current, alpha=alpha)
    failures = load_failures(current)
    for name in base_names:
        if name not in cur_set:
            why = failures.get(name, "no results")
            report.rows.append(
                GateRow(
                    "benchmark",
                    name,
                    "-",
                    Verdict.MISSING,
                    detail=f"in baseline, not in current run ({why})",
                )
            )
    for name in cur_names:
        if name not in base_set:
            report.rows.append(
                GateRow(
                    "benchmark",
                    name,
                    "-",
                    Verdict.NEW,
                    detail="not in baseline; gated from the next baseline",
                )
            )
    if absolute:
        for metric in metrics:
            report.rows.extend(
                _metric_rows(
                    base_frame, cur_frame, common, metric, thresholds, alpha, baseline, unit
                )
            )
    for spec in ratios:
        report.rows.append(
            _ratio_row(base_frame, cur_frame, spec, thresholds, alpha, baseline, unit, filters)
        )
    return report


def _hint(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _few(names: Sequence[str], limit: int = 4) -> str:
    if not names:
        return "no benchmarks"
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _metric_rows(
    base: pd.DataFrame,
    cur: pd.DataFrame,
    common: Sequence[str],
    metric: str,
    thresholds: dict[str, float],
    alpha: float,
    baseline_dir: Path,
    unit: str = "repeats",
) -> list[GateRow]:
    threshold = Threshold.for_metric(metric, thresholds.get(metric))
    recorded = base[base["benchmark"].isin(common) & (base["metric"] == metric)]
    if recorded.empty:
        available = sorted(set(base["metric"]) & set(DIRECTIONS))
        raise UserError(
            f"metric {metric!r} is not recorded for any common benchmark of baseline "
            f"{baseline_dir}; metrics there that can be gated: {', '.join(available)}"
        )
    rows = []
    for name in common:
        mine = recorded[recorded["benchmark"] == name]
        for stage in metric_stages(mine, metric):
            base_samples = pooled(metric_samples(base, name, metric, stage, unit))
            cur_samples = pooled(metric_samples(cur, name, metric, stage, unit))
            verdict, change, p, detail = compare_samples(
                base_samples, cur_samples, threshold, alpha
            )
            if cur_samples.size == 0:
                detail = "not recorded in the current run"
            rows.append(
                _compared_row(
                    "benchmark", name, metric, stage, base_samples, cur_samples, threshold,
                    (verdict, change, p, detail),
                )
            )  # fmt: skip
    return rows


def _ratio_row(
    base: pd.DataFrame,
    cur: pd.DataFrame,
    spec: RatioSpec,
    thresholds: dict[str, float],
    alpha: float,
    baseline_dir: Path,
    unit: str = "repeats",
    filters: tuple[RunFilter, RunFilter] = (RunFilter(), RunFilter()),
) -> GateRow:
    threshold = Threshold(
        thresholds.get(spec.name, DEFAULT_RATIO_THRESHOLD), DIRECTIONS[spec.metric]
    )
    label = f"{spec.metric} ratio"
    where = f"{spec.numerator} / {spec.denominator}"
    parts = (spec.numerator, spec.denominator)
    ran = (benchmark_names(base), benchmark_names(cur))
    not_run = [
        why
        for names, run in zip(ran, filters, strict=True)
        for part in parts
        if part not in names and (why := run.left_out(part))
    ]
    if not_run:
        return GateRow(
            "ratio",
            spec.name,
            label,
            Verdict.NOT_MEASURED,
            threshold=threshold.relative,
            higher_is_better=threshold.higher_is_better,
            detail=f"{where}: {'; '.join(not_run)}",
        )
    base_names = benchmark_names(base)
    for part in parts:
        if part not in base_names:
            raise UserError(
                f"ratio {spec.name!r}: benchmark {part!r} is not in baseline {baseline_dir}"
                f"{_hint(part, base_names)}; benchmarks there: {_few(base_names, 30)}"
            )
    absent = [part for part in parts if part not in benchmark_names(cur)]
    if absent:
        return GateRow(
            "ratio",
            spec.name,
            label,
            Verdict.MISSING,
            threshold=threshold.relative,
            higher_is_better=threshold.higher_is_better,
            detail=f"{where}: {', '.join(absent)} not in current run",
        )
    base_samples, cur_samples = ratio_samples(base, spec, unit), ratio_samples(cur, spec, unit)
    verdict, change, p, detail = compare_samples(base_samples, cur_samples, threshold, alpha)
    return _compared_row(
        "ratio", spec.name, label, PIPELINE, base_samples, cur_samples, threshold,
        (verdict, change, p, f"{where}: {detail}"),
    )  # fmt: skip


def _compared_row(
    kind: str,
    name: str,
    metric: str,
    stage: int,
    base_samples: np.ndarray,
    cur_samples: np.ndarray,
    threshold: Threshold,
    outcome: tuple[Verdict, float, float, str],
) -> GateRow:
    """The row of one baseline-vs-current comparison (a benchmark metric or a ratio)."""
    verdict, change, p, detail = outcome
    return GateRow(
        kind,
        name,
        metric,
        verdict,
        stage,
        _median(base_samples),
        _median(cur_samples),
        change,
        p,
        base_samples.size,
        cur_samples.size,
        threshold.relative,
        threshold.higher_is_better,
        detail,
    )


def _median(samples: np.ndarray) -> float:
    return float(np.median(samples)) if samples.size else math.nan
