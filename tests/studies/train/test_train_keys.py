"""The train kind's keys: a grid point's dtype, window and held-out subset reach its config."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.studies.train.keys import TRAIN_KEYS, build_train


def test_dtype_window_and_held_out_subset_reach_the_config() -> None:
    config = build_train({"data": "text", "text_path": "~/corpus.txt", "model": "gpt",
                          "input_shape": [32], "test_examples": 64, "dtype": "bf16"})  # fmt: skip
    assert config.pipeline.dtype == "bf16"
    assert config.input_shape == (32,) and config.test_examples == 64
    assert config.text_path == Path("~/corpus.txt").expanduser()


def test_the_default_precision_is_fp32_and_the_keys_name_the_choices() -> None:
    assert build_train({"data": "digits"}).pipeline.dtype == "fp32"
    dtype = next(key for key in TRAIN_KEYS if key.name == "dtype")
    assert set(dtype.choices or ()) == {"fp32", "bf16"}


def test_a_bad_split_still_fails_at_load() -> None:
    with pytest.raises(UserError):
        build_train({"data": "digits", "batch_size": 10, "microbatches": 3})
