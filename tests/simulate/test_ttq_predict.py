"""Predicted time to target = samples to target / simulated throughput, on hand-made tables."""

from __future__ import annotations

import math

import pytest

from dnibench.simulate.ttq_predict import (
    beat_map,
    extrapolate,
    predict_times,
    prediction_error,
)

SAMPLES = {
    "1f1b": {2: 1000.0, 3: 1200.0, 4: 1600.0},
    "dni": {2: 4000.0, 3: 4000.0, 4: 4000.0},
    "unlock": {2: math.inf, 3: math.inf, 4: math.inf},
}


def _rate(mode: str, k: int, m: int) -> float:
    """Exact schedules slow down as 1/K at m = 1 (the bubble); dni keeps 1000 samples/s."""
    if mode == "dni":
        return 1000.0
    if mode == "unlock":
        return 2000.0
    return 2000.0 * m / (m + k - 1)


def test_measured_k_is_labelled_measured() -> None:
    got = extrapolate(SAMPLES["1f1b"], 3)
    assert (got.samples, got.measured, got.label) == (1200.0, True, "measured")


def test_beyond_the_measured_k_is_an_extrapolation_held_at_the_largest() -> None:
    got = extrapolate(SAMPLES["1f1b"], 64)
    assert got.samples == 1600.0
    assert not got.measured
    assert got.label == "extrapolated: held at K = 4's"


def test_the_trend_rule_fits_log_samples_against_log_k() -> None:
    got = extrapolate({2: 100.0, 4: 200.0}, 8, rule="trend")
    assert got.samples == pytest.approx(400.0)
    assert got.label == "extrapolated: log-log trend through K = 2, 4"


def test_a_regime_that_never_arrives_stays_never_under_either_rule() -> None:
    for rule in ("hold", "trend"):
        got = extrapolate(SAMPLES["unlock"], 16, rule=rule)
        assert math.isinf(got.samples) and not got.measured


def test_an_unmeasured_k_inside_the_range_is_unknown_and_a_bad_rule_is_refused() -> None:
    assert math.isnan(extrapolate({2: 1.0, 4: 2.0}, 3).samples)
    with pytest.raises(ValueError, match="rule"):
        extrapolate({2: 1.0}, 8, rule="guess")


def test_predicted_seconds_are_samples_over_throughput() -> None:
    cells = predict_times(SAMPLES, _rate, [2, 8], [1, 4])
    by = {(c.mode, c.stages, c.microbatches): c for c in cells}
    assert by[("1f1b", 2, 1)].seconds == pytest.approx(1000.0 / 1000.0)
    assert by[("1f1b", 8, 4)].seconds == pytest.approx(1600.0 / (2000.0 * 4 / 11))
    assert by[("dni", 8, 1)].seconds == pytest.approx(4.0)
    assert math.isinf(by[("unlock", 2, 4)].seconds)
    assert by[("dni", 8, 1)].samples.label.startswith("extrapolated")


def test_the_map_says_where_dni_beats_the_best_exact_schedule() -> None:
    cells = beat_map(predict_times(SAMPLES, _rate, [2, 64], [1, 64]), exact=["1f1b"])
    by = {(c.mode, c.stages, c.microbatches): c for c in cells}
    assert {c.mode for c in cells} == {"dni", "unlock"}
    # K = 2, m = 1: 1f1b 1000 / 1000 = 1 s, dni 4 s: slower.
    assert by[("dni", 2, 1)].ratio == pytest.approx(4.0) and not by[("dni", 2, 1)].beats
    # K = 64, m = 1: 1f1b 1600 / (2000 / 64) = 51.2 s, dni 4 s: faster, and extrapolated.
    assert by[("dni", 64, 1)].ratio == pytest.approx(4.0 / 51.2)
    assert by[("dni", 64, 1)].beats and by[("dni", 64, 1)].extrapolated
    assert not by[("dni", 2, 1)].extrapolated
    assert math.isinf(by[("unlock", 64, 64)].ratio) and not by[("unlock", 64, 64)].beats


def test_only_the_decoupled_mode_arriving_reads_zero_and_neither_reads_nan() -> None:
    samples = {"1f1b": {2: math.inf}, "dni": {2: 10.0}, "unlock": {2: math.inf}}
    cells = {c.mode: c for c in beat_map(predict_times(samples, _rate, [2], [4]), ["1f1b"])}
    assert cells["dni"].ratio == 0.0 and cells["dni"].beats
    assert math.isnan(cells["unlock"].ratio) and not cells["unlock"].beats


def test_prediction_error() -> None:
    assert prediction_error(6.0, 5.0) == pytest.approx(0.2)
    assert math.isnan(prediction_error(math.inf, 5.0))
    assert math.isnan(prediction_error(5.0, 0.0))
