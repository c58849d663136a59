"""Paired-by-seed LM verdicts, the SG-ceiling verdict and TBPTT(8, 40)'s share, hand-made."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dnibench.stats import order_statistic_interval
from dnibench.studies.recurrent.report.paired import PairedTarget, by_seed, paired_gap_closed
from dnibench.studies.recurrent.report.targets import (
    NO_LINEAR_SG,
    LMRoles,
    lm_targets,
    sg_quality_targets,
    window_targets,
)


def table(**metrics: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        (bench, metric, repeat, value)
        for metric, benches in metrics.items()
        for bench, values in benches.items()
        for repeat, value in enumerate(values)
    ]
    return pd.DataFrame(rows, columns=["benchmark", "metric", "repeat", "value"])


EMPTY_CURVES = pd.DataFrame(columns=["benchmark", "repeat", "chars", "seconds", "valid_bpc"])


def named(targets: list, start: str) -> PairedTarget:
    return next(t for t in targets if t.name.startswith(start))


def test_dni_against_tbptt8_is_met_missed_or_inconclusive_by_the_paired_interval() -> None:
    short = [1.90, 1.80, 2.00, 1.85, 1.95]
    cases = {
        "met": [1.89, 1.78, 1.99, 1.83, 1.94],  # better on every seed, by little
        "missed": [1.91, 1.81, 2.02, 1.86, 1.97],
        "inconclusive": [1.89, 1.81, 1.99, 1.86, 1.94],
    }
    for word, dni in cases.items():
        results = table(bpc={"t8": short, "d8": dni})
        target = named(lm_targets(results, EMPTY_CURVES, LMRoles(short="t8", dni="d8")), "BPC:")
        assert target.verdict == word, (word, target.row())
        assert "(94%, n=5)" in target.row()


def test_the_zero_sg_control_closes_exactly_nothing_on_every_seed() -> None:
    short = {0: 1.90, 1: 1.80, 2: 2.00}
    long = {0: 1.80, 1: 1.75, 2: 1.70}
    assert paired_gap_closed(dict(short), short, long) == {0: 0.0, 1: 0.0, 2: 0.0}
    assert paired_gap_closed({0: 1.85, 1: 1.75, 2: 1.90}, short, long) == pytest.approx(
        {0: 0.5, 1: 1.0, 2: 1 / 3}
    )


def ceiling_table(sg_r2: list[float], ceiling: list[float]) -> pd.DataFrame:
    return table(
        sg_r2={"d8": sg_r2},
        ceiling_r2={"d8": ceiling},
        ceiling_r2_gamma1={"d8": ceiling},
        ceiling_cosine={"d8": [0.3] * len(ceiling)},
        sg_cosine={"d8": [0.01] * len(ceiling)},
        sg_relative_error={"d8": [0.99] * len(ceiling)},
        sg_carried_ratio={"d8": [0.01] * len(ceiling)},
    )


def test_the_sg_verdict_is_half_the_ceilings_r2() -> None:
    met = named(
        sg_quality_targets(ceiling_table([0.3] * 5, [0.4] * 5), "d8"), "SG held-out R^2 minus"
    )
    assert met.verdict == "met"
    missed = sg_quality_targets(ceiling_table([0.1] * 5, [0.4] * 5), "d8")
    assert named(missed, "SG held-out R^2 minus").verdict == "missed"
    # cosine and relative error are quoted, never judged
    quoted = [t for t in missed if "cosine with the true" in t.name or "relative error" in t.name]
    assert len(quoted) == 2 and all(t.verdict == "quoted (no goal)" for t in quoted)


def test_a_ceiling_below_the_floor_makes_the_sg_verdict_not_testable() -> None:
    targets = sg_quality_targets(ceiling_table([0.001] * 5, [0.005] * 5), "d8")
    verdict = named(targets, "SG held-out R^2 minus").verdict
    assert verdict.startswith("not testable") and NO_LINEAR_SG in verdict
    assert NO_LINEAR_SG == "no linear SG can help in this regime"


def test_old_runs_without_a_ceiling_only_quote_the_probe() -> None:
    results = table(sg_cosine={"d8": [0.02, 0.03, 0.01]})
    targets = sg_quality_targets(results, "d8")
    assert [t.verdict for t in targets] == ["quoted (no goal)", "not measured", "not measured"]


def test_tbptt_8_40_share_is_paired_and_quoted() -> None:
    results = table(bpc={"t8": [1.9, 1.8, 2.0], "w8": [1.7, 1.6, 1.9], "d8": [1.8, 1.75, 2.0]})
    targets = window_targets(results, LMRoles(short="t8", dni="d8", window="w8"))
    gain, share = targets
    assert gain.measured == pytest.approx(0.2) and gain.verdict == "quoted (no goal)"
    assert share.measured == pytest.approx(0.25)  # per seed 0.5, 0.25, 0.0: the median
    assert window_targets(results, LMRoles(short="t8", dni="d8")) == []


def test_by_seed_keys_by_repeat_and_drops_nan() -> None:
    results = table(bpc={"a": [1.0, math.nan, 3.0]})
    assert by_seed(results, "a") == {0: 1.0, 2: 3.0}


def test_a_paired_target_missed_by_is_from_the_interval_end() -> None:
    interval = order_statistic_interval([0.2, 0.3, 0.4, 0.5, 0.6])
    target = PairedTarget("x", interval.estimate, 1.0, ">=", "hint", ".2f", interval=interval)
    assert target.met is False and target.missed_by == pytest.approx(0.4)
    assert "| missed | 0.40 | hint |" in target.row()
