"""FLOPs per sample of a benchmark: the model's (every mode the same) and decoupling's on top."""

from __future__ import annotations

import pytest
from torch import nn

from dnibench.data import load_dataset
from dnibench.instrument.flops import DecoderDims
from dnibench.models import build_model
from dnibench.modes import CDNI, DNI, GPIPE, SINGLE, UNLOCK
from dnibench.runtimes.spec import BenchSpec
from dnibench.studies.pipeline import flop_budget as module
from dnibench.studies.pipeline.flop_budget import FLOP_METRICS, flop_budget, flop_rows

WIDTH = 64


def _spec(mode: str, **changes: object) -> BenchSpec:
    stages = 1 if mode == SINGLE.name else 2
    return BenchSpec(name=f"{mode}-flops", mode=mode, width=WIDTH, depth=4, input_shape=(32,),
                     stages=stages, batch_size=16, microbatches=2).with_(**changes)  # fmt: skip


def _mlp_training_flops() -> float:
    """Per sample: 6 per weight, but 4 for the first layer (no gradient for the input)."""
    dataset = load_dataset("synthetic", seed=0, synthetic_shape=(32,))
    model = build_model("mlp", (32,), dataset.num_classes, width=WIDTH, depth=4)
    linears = [m for m in model.as_module().modules() if isinstance(m, nn.Linear)]
    weights = [m.weight.numel() for m in linears]
    return 4.0 * weights[0] + 6.0 * sum(weights[1:])


def test_the_model_flops_are_the_models_whatever_the_mode() -> None:
    expected = _mlp_training_flops()
    for mode in (SINGLE, GPIPE, DNI, UNLOCK):
        budget = flop_budget(_spec(mode.name))
        assert budget.model == pytest.approx(expected)
        assert budget.tokens_per_sample == 1  # real-valued inputs: a sample is one token


def test_decoupling_flops_are_the_sg_and_si_work() -> None:
    assert flop_budget(_spec(GPIPE.name)).decoupling == 0.0
    dni = flop_budget(_spec(DNI.name)).decoupling
    # A linear SG on the 64-wide boundary: predict (2 w^2), regress forward and weight grad (4 w^2).
    assert dni == pytest.approx(6.0 * WIDTH * WIDTH)
    assert flop_budget(_spec(CDNI.name)).decoupling > dni  # the label context widens its input
    assert flop_budget(_spec(UNLOCK.name)).decoupling > dni  # plus the SI module
    assert flop_budget(_spec(DNI.name, dtype="bf16")).decoupling == pytest.approx(dni)


def test_the_rows_carry_the_benchmark_and_every_flop_metric() -> None:
    rows = flop_rows(_spec(DNI.name), repeat=2)
    assert [row["metric"] for row in rows] == list(FLOP_METRICS)
    assert {row["benchmark"] for row in rows} == {"dni-flops"}
    assert {row["repeat"] for row in rows} == {2} and {row["stage"] for row in rows} == {-1}


def test_a_model_that_cannot_be_counted_gets_no_rows_and_says_why(monkeypatch, capsys) -> None:
    def fails(spec: BenchSpec) -> None:
        raise NotImplementedError("no meta kernel")

    monkeypatch.setattr(module, "flop_budget", fails)
    assert flop_rows(_spec(DNI.name), repeat=0) == []
    assert "FLOPs not counted" in capsys.readouterr().err


def test_a_registered_decoder_takes_palms_count(monkeypatch) -> None:
    dims = DecoderDims(n_layer=2, d_model=8, seq_len=4, vocab=16)
    monkeypatch.setitem(module.DECODER_DIMS, "mlp", lambda spec, vocab: dims)
    flop_budget.cache_clear()
    try:
        budget = flop_budget(_spec(GPIPE.name, depth=3))
    finally:
        flop_budget.cache_clear()
    assert budget.model == dims.flops_per_token() * budget.tokens_per_sample


def test_gpt_model_flops_are_palms_formula_and_cdni_context_is_counted() -> None:
    vocab = load_dataset("pystdlib").num_classes
    common = dict(model="gpt", data="pystdlib", width=64, depth=2, input_shape=(32,),
                  batch_size=8, microbatches=2, stages=2, steps=8)  # fmt: skip
    exact = flop_budget(BenchSpec(name="g", mode=GPIPE.name, **common))  # type: ignore[arg-type]
    cdni = flop_budget(BenchSpec(name="g", mode=CDNI.name, **common))  # type: ignore[arg-type]
    dims = DecoderDims(n_layer=2, d_model=64, seq_len=32, vocab=vocab)
    assert exact.model == dims.flops_per_token() * 32
    assert exact.tokens_per_sample == 32
    assert exact.decoupling == 0.0
    assert cdni.model == exact.model
    assert cdni.decoupling > 0.0
