"""The LM's held-out loss beside the target metric: nats and bits per character."""

from __future__ import annotations

import math

import pytest

from dnibench.runtimes.snapshot_eval import EvalPoint
from dnibench.runtimes.spec import BenchSpec
from dnibench.studies.ttq.lm import bits_per_character, language_model_values


def _point(samples: int, loss: float) -> EvalPoint:
    return EvalPoint(samples=samples, step=samples // 16, wall_s=1.0, wall_with_eval_s=1.5,
                     cpu_s=2.0, eval_s=0.5, copy_s=0.0, train_loss=loss, test_loss=loss,
                     test_accuracy=0.3)  # fmt: skip


def test_bits_per_character_is_nats_over_ln_2() -> None:
    assert bits_per_character(math.log(2.0)) == pytest.approx(1.0)
    assert bits_per_character(math.log(256.0)) == pytest.approx(8.0)


def test_an_lm_run_reports_its_best_and_final_loss_in_both_units() -> None:
    spec = BenchSpec(name="t", mode="1f1b", data="pystdlib", model="gpt", input_shape=(16,))
    curve = [_point(16, 3.0), _point(32, 2.0), _point(48, 2.5)]
    got = {metric: (value, unit) for metric, value, unit in language_model_values(spec, curve)}
    assert got["best_test_loss"] == (2.0, "nats")
    assert got["final_test_loss"] == (2.5, "nats")
    assert got["best_test_bpc"][0] == pytest.approx(2.0 / math.log(2.0))
    assert got["final_test_bpc"] == (pytest.approx(2.5 / math.log(2.0)), "bits/char")


def test_a_classifier_gets_no_bpc() -> None:
    spec = BenchSpec(name="t", mode="1f1b", data="digits", model="mlp")
    assert language_model_values(spec, [_point(16, 1.0)]) == []
