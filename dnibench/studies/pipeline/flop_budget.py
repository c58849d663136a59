"""What one training sample costs in FLOPs: the model's, and what decoupling adds (SG and SI).

MFU counts only the model's FLOPs (forward and backward of every stage);
HFU adds the work DNI and complete unlock do besides it (each SG module's
prediction and its regression, each SI module's prediction and its
regression), so HFU - MFU is what decoupling costs in arithmetic. Both are
counted once per benchmark with FlopCounterMode on meta copies of the
stages (:mod:`dnibench.instrument.flops`): no arithmetic runs, so a GPU-sized
model costs milliseconds to count in the parent process.

For the ``gpt`` model the quoted model FLOPs are PaLM's formula
(:func:`dnibench.instrument.flops.palm_flops_per_token`), which the counted
figure matches within 2 % (tests/instrument/test_flops.py); for the MLP and
CNN models the counted figure is the model FLOPs (6 per weight per example
for a linear layer, the same convention).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from dnibench.instrument.flops import META, DecoderDims, count_flops, training_step_flops
from dnibench.models import DEFAULT_DEPTH, DEFAULT_WIDTH
from dnibench.pipeline import build_pipeline
from dnibench.precision import cast_input, torch_dtype
from dnibench.regimes.stage import Stage
from dnibench.runtimes.harness import PROBE_ROWS
from dnibench.runtimes.spec import BenchSpec

MODEL_FLOPS = "model_flops_per_sample"
DECOUPLING_FLOPS = "decoupling_flops_per_sample"
TOKENS_PER_SAMPLE = "tokens_per_sample"
FLOP_METRICS = (MODEL_FLOPS, DECOUPLING_FLOPS, TOKENS_PER_SAMPLE)
"""The result metrics this module records (stage -1, one row each per launch)."""


DECODER_DIMS: dict[str, Callable[[BenchSpec, int], DecoderDims]] = {}
"""Model name -> its decoder dimensions from a spec and the data's vocabulary: the models
whose model FLOPs are PaLM's formula rather than the counted figure."""


def _gpt_dims(spec: BenchSpec, vocab: int) -> DecoderDims:
    """The ``gpt`` model's shape (:func:`dnibench.models.gpt.build_gpt`) in PaLM's terms."""
    width = spec.width if spec.width is not None else DEFAULT_WIDTH["gpt"]
    depth = spec.depth if spec.depth is not None else DEFAULT_DEPTH["gpt"]
    return DecoderDims(n_layer=depth, d_model=width, seq_len=spec.input_shape[0], vocab=vocab)


DECODER_DIMS["gpt"] = _gpt_dims


@dataclass(frozen=True)
class FlopBudget:
    """FLOPs per training sample of a benchmark: the model's, and decoupling's on top."""

    model: float
    decoupling: float
    tokens_per_sample: int

    @property
    def hardware(self) -> float:
        """Everything computed per sample: the numerator of HFU."""
        return self.model + self.decoupling


def _decoupling_flops(stage: Stage, h: Tensor, x: Tensor, context: Tensor | None) -> float:
    """One microbatch of the stage's SG (predict, regress) and SI (predict, regress) work.

    The regressions' optimiser steps are elementwise: the counter, like MFU, leaves them out.
    """
    total = 0.0
    sg, si = stage.sg, stage.si
    if sg is not None:
        total += count_flops(lambda: sg.regress(h, context, sg.predict(h, context)))
    if si is not None:
        total += count_flops(lambda: si.regress(x, si.predict(x)))
    return total


def tokens_per_sample(x: Tensor) -> int:
    """Token ids (integer inputs) count each position; any other input is one sample, one token."""
    return 1 if x.is_floating_point() else math.prod(x.shape[1:])


@functools.lru_cache(maxsize=64)
def flop_budget(spec: BenchSpec) -> FlopBudget:
    """FLOPs per sample of ``spec``'s model and decoupling, counted on the meta device.

    The pipeline is built on meta (same split, same modules, no arithmetic), so
    counting costs the same for a GPU-sized model as for a tiny one.
    """
    from dnibench.data import load_dataset

    dataset = load_dataset(
        spec.data, seed=spec.seed, synthetic_shape=spec.input_shape, text_path=spec.text_path
    )
    rows = max(1, min(spec.microbatch_size, PROBE_ROWS))
    sample, labels = dataset.x_train[:rows], dataset.y_train[:rows]
    x = cast_input(sample, torch_dtype(spec.dtype)).to(META)
    y = labels.to(META)
    with torch.device(META):
        pipeline = build_pipeline(
            spec.pipeline_config, spec.regime, dataset.input_shape, dataset.num_classes, x
        )
    stages = pipeline.stages
    model = training_step_flops(
        [stage.module for stage in stages], x, lambda out: pipeline.model.loss(out, y)
    )
    decoupling = 0.0
    h = x
    for stage in stages:
        with torch.no_grad():
            out = stage.module(h)
        if stage.sg is not None or stage.si is not None:
            context = None
            if stage.sg is not None and stage.sg.context_size:
                context = stage.sg.context_of(labels.to(META), stage.num_classes)
                if context.is_floating_point():
                    context = context.to(x.dtype)
            decoupling += _decoupling_flops(stage, out, x, context)
        h = out
    per_sample = model / rows
    dims = DECODER_DIMS.get(spec.model)
    if dims is not None:  # a decoder: PaLM's count, the field's convention for MFU
        per_sample = dims(spec, dataset.num_classes).flops_per_token() * tokens_per_sample(sample)
    return FlopBudget(per_sample, decoupling / rows, tokens_per_sample(sample))


def flop_rows(spec: BenchSpec, repeat: int) -> list[dict[str, object]]:
    """Result rows (the columns of results.csv) for ``spec``'s FLOP budget.

    A model the counter cannot follow on the meta device gets no rows (its MFU
    shows as a dash, with the reason on stderr): counting never fails a benchmark.
    """
    try:
        budget = flop_budget(spec.with_(name="flops", keep_parameters=False))
    except Exception as err:  # a model meta tensors cannot run: no MFU, the run goes on
        print(f"{spec.name}: FLOPs not counted ({type(err).__name__}: {err})", file=sys.stderr)
        return []
    budget_tokens = float(budget.tokens_per_sample)
    template = {"benchmark": spec.name, "mode": spec.mode, "stages": spec.world_size,
                "microbatches": spec.microbatches, "stage": -1, "repeat": repeat}  # fmt: skip
    return [
        {**template, "metric": MODEL_FLOPS, "value": budget.model, "unit": "FLOP"},
        {**template, "metric": DECOUPLING_FLOPS, "value": budget.decoupling, "unit": "FLOP"},
        {**template, "metric": TOKENS_PER_SAMPLE, "value": budget_tokens, "unit": "tokens"},
    ]


__all__ = [
    "DECODER_DIMS", "DECOUPLING_FLOPS", "FLOP_METRICS", "MODEL_FLOPS", "TOKENS_PER_SAMPLE",
    "FlopBudget", "flop_budget", "flop_rows", "tokens_per_sample",
]  # fmt: skip
