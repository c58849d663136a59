"""The ttq kind's configuration: the target is judged on seeds it was not chosen on."""

from __future__ import annotations

import pytest

from dnibench.errors import UserError
from dnibench.stats import CALIBRATION_SEEDS, REPORT_SEEDS
from dnibench.studies.item import Item
from dnibench.studies.ttq.keys import TTQConfig, build_ttq, seeds_of

VALUES = {
    "mode": "1f1b",
    "data": "digits",
    "model": "mlp",
    "width": 16,
    "stages": 2,
    "microbatches": 2,
    "batch_size": 32,
    "steps": 20,
    "eval_every": 5,
    "workload": "digits-mlp",
    "calibration_best": 0.9,
}


def test_a_calibrated_target_runs_on_the_report_seeds() -> None:
    item = build_ttq(Item(name="t", kind="ttq", repeats=5, runtime="dist"), {**VALUES, "seed": 0})
    assert isinstance(item.config, TTQConfig) and item.spec is not None
    assert seeds_of(item.spec, item.repeats) == list(REPORT_SEEDS)
    assert not set(CALIBRATION_SEEDS) & set(seeds_of(item.spec, item.repeats))
    assert item.config.target == pytest.approx(0.98 * 0.9)
    assert item.spec.eval_every == 5


def test_a_calibrated_target_refuses_a_calibration_seed() -> None:
    with pytest.raises(UserError, match="calibration and report seeds"):
        build_ttq(Item(name="t", kind="ttq", repeats=3, runtime="dist"), {**VALUES, "seed": 100})
    # Without a target (a calibration run) the calibration seeds are allowed.
    values = {k: v for k, v in VALUES.items() if k != "calibration_best"}
    item = build_ttq(Item(name="t", kind="ttq", repeats=3, runtime="dist"), {**values, "seed": 100})
    assert isinstance(item.config, TTQConfig) and item.config.target is None


def test_synthetic_data_has_no_held_out_split() -> None:
    with pytest.raises(UserError):
        build_ttq(Item(name="t", kind="ttq", runtime="dist"), {**VALUES, "data": "synthetic"})


def test_a_language_model_workload_names_its_held_out_windows() -> None:
    values = {**VALUES, "data": "pystdlib", "model": "gpt", "input_shape": [16], "held_out": 64}
    item = build_ttq(Item(name="t", kind="ttq", repeats=5, runtime="dist"), values)
    assert isinstance(item.config, TTQConfig) and item.spec is not None
    assert item.config.held_out == 64 and item.spec.data == "pystdlib"
    # Without the key every test example is scored, as before.
    item = build_ttq(Item(name="t", kind="ttq", repeats=5, runtime="dist"), VALUES)
    assert isinstance(item.config, TTQConfig) and item.config.held_out == 0
