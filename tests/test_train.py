"""Training one configuration: the gpt model on token windows, the held-out subset, dtype."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from dnibench.pipeline import PipelineConfig
from dnibench.regimes.regime import get_regime
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.train import TrainConfig, held_out, prepare, train

TEXT = "def add(a, b):\n    return a + b\n\nclass Point:\n    x = 1\n    y = 2\n" * 80


def gpt_config(tmp_path: Path, mode: str = "dni", **changes: object) -> TrainConfig:
    """A tiny gpt (width 16, 2 blocks, 2 stages) on windows of 8 characters of a small text."""
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT)
    pipeline = PipelineConfig(
        model="gpt", width=16, depth=2, stages=2, sg=SGConfig(rank=4), **changes.pop("pipeline", {})
    )
    base = TrainConfig(data="text", mode=mode, pipeline=pipeline, batch_size=4, steps=6,
                       eval_every=3, input_shape=(8,), text_path=path, test_examples=5)  # fmt: skip
    return TrainConfig(**{**base.__dict__, **changes})


@pytest.mark.parametrize("mode", ["dni", "cdni"])
def test_a_tiny_gpt_trains_under_decoupling_with_finite_losses(tmp_path: Path, mode: str) -> None:
    result = train(gpt_config(tmp_path, mode))
    assert [p.step for p in result.curve] == [3, 6]
    assert [p.samples for p in result.curve] == [12, 24]
    for point in result.curve:
        assert math.isfinite(point.test_loss) and math.isfinite(point.train_loss)
        assert math.isfinite(point.sg_loss)  # the per-token SG regressed onto true deltas
    assert result.final.test_loss < math.log(100)  # below a uniform guess over the vocabulary


def test_the_held_out_subset_is_evenly_spaced_and_the_same_every_time(tmp_path: Path) -> None:
    config = gpt_config(tmp_path)
    dataset, _ = prepare(config)
    x, y = held_out(config, dataset)
    assert x.shape == (5, 8) and y.shape == (5, 8)
    assert torch.equal(x[0], dataset.x_test[0]) and torch.equal(x[-1], dataset.x_test[-1])
    assert torch.equal(held_out(config, dataset)[0], x)
    everything = TrainConfig(**{**config.__dict__, "test_examples": None})
    assert torch.equal(held_out(everything, dataset)[0], dataset.x_test)


def test_bf16_runs_model_sg_and_optimiser_state_in_bf16(tmp_path: Path) -> None:
    config = gpt_config(tmp_path, "cdni", pipeline={"dtype": "bf16"})
    _, pipeline = prepare(config)
    for stage in pipeline.stages:
        assert {p.dtype for p in stage.module.parameters()} == {torch.bfloat16}
    sg = pipeline.stages[0].sg
    assert sg is not None and {p.dtype for p in sg.parameters()} == {torch.bfloat16}
    dataset, _ = prepare(config)
    runtime = ReferenceRuntime(pipeline.stages, get_regime("cdni"), 1)
    runtime.train_step(dataset.x_train[:4], dataset.y_train[:4])
    for optimizer in (pipeline.stages[1].optimizer, sg.optimizer):
        states = [t for s in optimizer.state.values() for t in s.values() if t.numel() > 1]
        assert states and {t.dtype for t in states} == {torch.bfloat16}
    result = train(config)
    assert all(math.isfinite(p.test_loss) for p in result.curve)
    fp32 = train(gpt_config(tmp_path, "cdni"))
    assert result.final.test_loss != fp32.final.test_loss  # a different precision, another run


def test_test_examples_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="test_examples"):
        gpt_config(tmp_path, test_examples=0)
