"""The pipeline kind's suite keys, and how one grid point becomes a BenchSpec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dnibench.data import DATA_NAMES
from dnibench.precision import DTYPES
from dnibench.runtimes.spec import BENCH_MODES, SINGLE_MODE, STREAMS_DEVICES, BenchSpec
from dnibench.studies.keys import (
    KNOB_FIELDS,
    KNOB_KEYS,
    MODEL_KEYS,
    TIMEOUT_MAX_S,
    Key,
    check_split,
    knob_configs,
)

# Pipeline ranks load their data without a directory, so only embedded or generated data.
PIPELINE_DATA = tuple(d for d in DATA_NAMES if d not in ("mnist", "cifar10"))

# A straggler at most this many times slower, a stage's timeout at most a day: beyond
# either the run would only sleep (and a timeout past timedelta's range crashes the ranks).
SLOW_FACTOR_MAX = 100.0

PIPELINE_KEYS = (
    Key("mode", "str", choices=BENCH_MODES),
    Key(
        "data",
        "str",
        choices=PIPELINE_DATA,
        note="mnist and cifar10 are read from a directory, which pipeline benchmarks do not take",
    ),
    *MODEL_KEYS,
    Key("input_shape", "ints", minimum=1),
    Key("text_path", "str", note="the UTF-8 file of data = 'text' (token windows for gpt)"),
    Key("data_seed", "int", minimum=0, note="fixes the data set apart from seed"),
    Key("warmup", "int", minimum=0),
    Key("threads", "threads", minimum=1),
    Key("staleness", "int", minimum=0),
    Key("spans", "bool"),
    Key("slow_stage", "int", minimum=0),
    Key("slow_factor", "float", minimum=1, maximum=SLOW_FACTOR_MAX),
    Key("timeout_s", "float", above=0, maximum=TIMEOUT_MAX_S),
    Key("backend", "str", choices=("gloo", "nccl")),
    Key("update_per_microbatch", "bool"),
    Key("device", "str", choices=STREAMS_DEVICES, note="the streams runtime's device"),
    Key("nvml", "bool"),
    Key("dtype", "str", choices=tuple(DTYPES), note="the precision of model, messages and SG/SI"),
    *KNOB_KEYS,
)


def build_pipeline(name: str, runtime: str, values: Mapping[str, Any]) -> BenchSpec:
    """The BenchSpec of one checked grid point; the split is checked against the model's depth."""
    configs = knob_configs(values)
    skip = {*KNOB_FIELDS, "kind", "name", "repeats", "runtime"}
    fields = {k: v for k, v in values.items() if k not in skip}
    spec = BenchSpec(name=name, runtime=runtime, **fields, **configs)
    if spec.mode != SINGLE_MODE:
        check_split(values, spec.model, spec.stages)
    return spec


__all__ = ["PIPELINE_DATA", "PIPELINE_KEYS", "SLOW_FACTOR_MAX", "TIMEOUT_MAX_S", "build_pipeline"]
