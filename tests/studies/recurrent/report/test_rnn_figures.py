"""Premise, gap closed, equal seconds, reach and divergence on hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dnibench.studies.recurrent.report.figures import (
    Premise,
    best_valid_target,
    divergence,
    equal_seconds,
    first_reach,
    gap_closed,
    reach,
)
from dnibench.studies.recurrent.report.targets import LMRoles, lm_targets


def results(bpc: dict[str, list[float]], **extra: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(b, "bpc", r, v) for b, values in bpc.items() for r, v in enumerate(values)]
    for metric, table in extra.items():
        rows += [(b, metric, r, v) for b, values in table.items() for r, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["benchmark", "metric", "repeat", "value"])


def curve(name: str, repeat: int, valid: list[float], seconds_each: float, **columns):
    rows = []
    for i, bpc in enumerate(valid):
        row = {
            "benchmark": name,
            "repeat": repeat,
            "chars": 100 * i,
            "seconds": seconds_each * i,
            "valid_bpc": bpc,
            "test_bpc": bpc - 0.01,
        }
        row.update({key: values[i] for key, values in columns.items()})  # fmt: skip
        rows.append(row)
    return rows


def test_premise_holds_when_the_paired_interval_is_above_zero() -> None:
    holds = Premise(np.array([1.90, 1.91, 1.92]), np.array([1.80, 1.81, 1.82]))
    assert holds.margin == pytest.approx(0.10) and holds.spread == pytest.approx(0.02)
    assert holds.holds and holds.failure is None
    # paired by seed, every seed gains, though the gains are inside the unpaired spreads
    paired_gain = Premise(np.array([1.90, 1.95, 1.85]), np.array([1.88, 1.92, 1.84]))
    assert paired_gain.holds and paired_gain.margin == pytest.approx(0.02)
    within = Premise(np.array([1.90, 1.95, 1.85]), np.array([1.88, 1.96, 1.84]))
    assert not within.holds and "does not beat" in str(within.failure)
    assert "interval [-0.010, +0.020]" in str(within.failure)
    worse = Premise(np.array([1.90, 1.91, 1.92]), np.array([1.95, 1.96, 1.97]))
    assert "margin -0.050" in str(worse.failure)
    assert "needs 3 seeds" in str(Premise(np.array([1.9, 1.9]), np.array([1.8, 1.8])).failure)


def test_gap_closed_pairs_each_seed_with_its_own_baselines() -> None:
    short, long = np.array([1.90, 1.91, 1.89]), np.array([1.80, 1.79, 1.81])
    closed = gap_closed(np.array([1.85, 1.79, 1.89]), short, long)
    np.testing.assert_allclose(closed, [0.5, 1.0, 0.0])
    # the control equals tbptt-8 seed for seed: exactly 0 on every seed, not noise about 0
    assert gap_closed(short.copy(), short, long).tolist() == [0.0, 0.0, 0.0]
    assert math.isnan(gap_closed(np.array([1.0]), np.array([1.5]), np.array([1.5]))[0])


def hand_made_run(long_better: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    long = [1.80, 1.81, 1.82] if long_better else [1.95, 1.96, 1.97]
    table = results({"t8": [1.90, 1.91, 1.92], "t40": long, "d8": [1.85, 1.86, 1.84]},
                    nonfinite_loss={"d8": [0.0, 0.0, 0.0]})  # fmt: skip
    rows = []
    for r in range(3):
        rows += curve("t8", r, [3.0, 2.4, 2.0, 1.91], 2.0)
        rows += curve("t40", r, [3.0, 2.6, 1.9, long[r] + 0.01], 1.0)
        rows += curve("d8", r, [3.0, 2.3, 1.95, 1.86], 3.0, sg_norm_ratio=[0, 1, 1, 1])
    return table, pd.DataFrame(rows)


def test_without_the_premise_every_tbptt40_verdict_is_not_testable() -> None:
    table, curves = hand_made_run(long_better=False)
    roles = LMRoles(short="t8", long="t40", dni="d8")
    targets = lm_targets(table, curves, roles)
    against_long = [t for t in targets if "equal characters" in t.name or "t40's best" in t.name]
    assert len(against_long) == 3
    for target in against_long:
        assert target.met is None and target.verdict.startswith("not testable: tbptt-40 does not")
        assert "| met |" not in target.row()
    # At equal seconds (3 s) tbptt-40 is ahead of tbptt-8 here: that comparison has its own
    # premise, which holds, so it is judged.
    timed = next(t for t in targets if "equal seconds" in t.name)
    assert timed.untestable is None and timed.met is not None
    spread = next(t for t in targets if "minus d8" in t.name)
    assert spread.untestable is None and spread.met  # needs no premise: 1.91 - 1.85 > 0.02


def test_with_the_premise_the_verdicts_are_measured() -> None:
    table, curves = hand_made_run(long_better=True)
    targets = {t.name: t for t in lm_targets(table, curves, LMRoles("t8", "t40", "d8"))}
    chars = targets["gap closed at equal characters, per seed: d8"]
    assert chars.untestable is None
    # per seed 0.5, 0.5, 0.8: the interval [0.5, 0.8] lies below the goal 1
    assert chars.measured == pytest.approx(0.5) and chars.met is False
    assert chars.verdict == "missed" and "0.50 [0.50, 0.80] (75%, n=3)" in chars.row()
    # every run cut at 3 s (the shortest: t40); t8 and d8 cut at their evaluations at <= 3 s
    timed = next(t for n, t in targets.items() if n.startswith("gap closed at equal seconds"))
    assert "(3 s)" in timed.name
    # t8 at 2 s: valid 2.4 -> test 2.39; t40 at 3 s: valid long+0.01 -> test = long;
    # d8 at 3 s: valid 2.3 -> test 2.29
    long = np.array([1.80, 1.81, 1.82])
    assert timed.measured == pytest.approx(np.median((2.39 - 2.29) / (2.39 - long)))
    assert targets["seeds of d8 that diverged"].measured == 0


def test_equal_seconds_cuts_at_the_shortest_run() -> None:
    _, curves = hand_made_run(long_better=True)
    cut, cut_bpc = equal_seconds(curves, ["t8", "t40", "d8"])
    assert cut == 3.0
    np.testing.assert_allclose(cut_bpc["t8"], [2.39] * 3)


def test_reach_is_the_first_evaluation_at_the_target_and_the_target_is_tbptt40_best_valid() -> None:
    _, curves = hand_made_run(long_better=True)
    target = best_valid_target(curves, "t40")
    assert target == pytest.approx(1.82)  # the median of 1.81, 1.82, 1.83
    run = pd.DataFrame(curve("x", 0, [3.0, 2.0, 1.5], 1.0))
    assert first_reach(run, 1.75) == pytest.approx((200.0, 2.0))
    assert all(math.isnan(v) for v in first_reach(run, 1.0))
    assert reach(curves, "d8", 1.9).shape == (3, 2)


def test_a_forced_sg_blow_up_is_reported_as_diverged() -> None:
    table, curves = hand_made_run(long_better=True)
    blown = curves.copy()
    seed1 = (blown["benchmark"] == "d8") & (blown["repeat"] == 1)
    blown.loc[seed1, "sg_norm_ratio"] = [0.0, 5.0, 50.0, 80.0]
    found = divergence(table, blown, "d8", "t8")
    assert found.count == 1 and found.reasons[0] is None
    assert "SG norm > 10x the true gradient's twice by 300 chars" in str(found.reasons[1])
    roles = LMRoles("t8", "t40", "d8")
    verdict = next(t for t in lm_targets(table, blown, roles) if "diverged" in t.name)
    assert verdict.measured == 1 and verdict.met is False


def test_bpc_far_above_tbptt8_and_nonfinite_loss_are_diverged() -> None:
    table, curves = hand_made_run(long_better=True)
    worse = curves.copy()
    seed0 = (worse["benchmark"] == "d8") & (worse["repeat"] == 0)
    worse.loc[seed0, "valid_bpc"] = [3.0, 2.8, 2.5, 1.9]  # +0.4 and +0.5 above t8
    table.loc[(table["benchmark"] == "d8") & (table["metric"] == "nonfinite_loss")
              & (table["repeat"] == 2), "value"] = 1.0  # fmt: skip
    reasons = divergence(table, worse, "d8", "t8").reasons
    assert "validation BPC > tbptt-8's + 0.3 twice by 200 chars" in str(reasons[0])
    assert reasons[1] is None and reasons[2] == "non-finite training loss"


def test_the_premise_at_a_smaller_budget_reads_the_first_part_of_each_run() -> None:
    from dnibench.studies.recurrent.report.figures import premise_at_budget

    _, curves = hand_made_run(long_better=True)
    # at 100 characters: t8 valid 2.4 -> test 2.39; t40 valid 2.6 -> test 2.59 (worse)
    early = premise_at_budget(curves, "t8", "t40", 100)
    assert early.margin == pytest.approx(-0.2) and not early.holds
    late = premise_at_budget(curves, "t8", "t40", 300)
    assert late.holds and late.margin == pytest.approx(1.90 - 1.81)


def test_a_dni_that_never_reaches_tbptt40s_best_misses_rather_than_goes_unmeasured() -> None:
    table, curves = hand_made_run(long_better=True)
    late = curves.copy()
    late.loc[late["benchmark"] == "d8", "valid_bpc"] = [3.0, 2.5, 2.3, 2.2] * 3
    targets = lm_targets(table, late, LMRoles("t8", "t40", "d8"))
    reach_chars = next(t for t in targets if t.name.startswith("characters to t40"))
    assert math.isinf(reach_chars.measured) and reach_chars.met is False
    assert "never reached" in reach_chars.row()
