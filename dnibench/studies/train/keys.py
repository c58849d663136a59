"""The training kind's suite keys, and how one grid point becomes a TrainConfig."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnibench.data import DATA_NAMES
from dnibench.errors import UserError
from dnibench.modes import TRAIN_MODES
from dnibench.pipeline import PipelineConfig
from dnibench.precision import DEFAULT_DTYPE, DTYPES
from dnibench.studies.keys import (
    KNOB_KEYS,
    MODEL_KEYS,
    ONE_PROCESS_TIMEOUT_KEY,
    Key,
    check_split,
    knob_configs,
)
from dnibench.train import TrainConfig

ON_DISK_DATA = ("mnist", "cifar10")

TRAIN_KEYS = (
    Key("mode", "str", choices=TRAIN_MODES),
    Key("data", "str", choices=DATA_NAMES),
    *MODEL_KEYS,
    Key("eval_every", "int", minimum=1),
    Key("data_dir", "str"),
    Key("target_accuracy", "float", above=0, maximum=1),
    Key("frozen_stages", "int", minimum=0, note="the first n stages keep their initial weights"),
    Key("threads", "threads", minimum=1, note="1 (the default) times the training thread's CPU"),
    Key("input_shape", "ints", minimum=1, note="a token corpus's [L]: the window length"),
    Key("text_path", "str", note="the UTF-8 file of data = 'text'"),
    Key("test_examples", "int", minimum=1, note="evaluate on this many, evenly spaced"),
    Key("dtype", "str", choices=tuple(DTYPES), note="the precision of model, SG/SI and optimiser"),
    ONE_PROCESS_TIMEOUT_KEY,
    *KNOB_KEYS,
)


def build_train(values: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig of one checked grid point (cross-key checks here: a suite fails at load)."""
    configs = knob_configs(values)
    base = TrainConfig()
    pipeline = PipelineConfig(
        model=values.get("model", base.pipeline.model),
        width=values.get("width"),
        depth=values.get("depth"),
        stages=values.get("stages", base.pipeline.stages),
        balance=values.get("balance"),
        seed=values.get("seed", base.pipeline.seed),
        dtype=values.get("dtype", DEFAULT_DTYPE),
        **configs,
    )
    check_split(values, pipeline.model, pipeline.stages)
    config = TrainConfig(
        data=values.get("data", base.data),
        mode=values.get("mode", base.mode),
        pipeline=pipeline,
        batch_size=values.get("batch_size", base.batch_size),
        microbatches=values.get("microbatches", base.microbatches),
        steps=values.get("steps", base.steps),
        eval_every=values.get("eval_every", base.eval_every),
        data_dir=Path(values["data_dir"]).expanduser() if "data_dir" in values else None,
        frozen_stages=values.get("frozen_stages", base.frozen_stages),
        threads=values.get("threads", base.threads),
        timeout_s=values.get("timeout_s", base.timeout_s),
        input_shape=tuple(values["input_shape"]) if "input_shape" in values else None,
        text_path=Path(values["text_path"]).expanduser() if "text_path" in values else None,
        test_examples=values.get("test_examples"),
    )
    if config.batch_size % config.microbatches:
        raise UserError(
            f"batch size {config.batch_size} must split evenly into {config.microbatches} "
            "microbatches"
        )
    if config.data in ON_DISK_DATA and config.data_dir is None:
        raise UserError(f"data {config.data!r} is read from disk: set data_dir")
    return config


__all__ = ["ON_DISK_DATA", "TRAIN_KEYS", "build_train"]
