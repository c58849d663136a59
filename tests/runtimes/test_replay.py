"""The reference runtime's replay of an asynchronous schedule is the runtimes' trajectory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from async_reference import reference_run

from dnibench.modes import Family, mode_names
from dnibench.pipeline import PipelineConfig
from dnibench.runtimes.harness import build_for_rank, loss_scale, microbatch_source
from dnibench.runtimes.replay import ScheduleReplay
from dnibench.runtimes.spec import BenchSpec
from dnibench.train import TrainConfig, train


@pytest.mark.parametrize("mode", mode_names(Family.ASYNC))
@pytest.mark.parametrize("stages", [2, 3])
def test_the_replay_matches_the_textbook_loop(
    mode: str, stages: int, spec_of: Callable[..., BenchSpec]
) -> None:
    spec = spec_of(mode, stages, 4, steps=3)
    pipeline, stream = build_for_rank(spec)
    schedule = spec.mode_row.build_schedule(stages, 4, steps=spec.steps)
    data = microbatch_source(spec, stream, torch.device("cpu"))
    replay = ScheduleReplay(pipeline.stages, spec.regime, 4, schedule, data, loss_scale(spec))
    losses = [replay.train_step(*stream.batch(step)).loss for step in range(spec.steps)]
    assert all(loss == loss for loss in losses)  # one loss per step, none missing
    expected, forwards, _ = reference_run(spec)
    for stage, reference, forward in zip(pipeline.stages, expected, forwards, strict=True):
        for name, value in reference.items():
            assert torch.equal(stage.module.state_dict()[name], value), f"{mode} {name}"
        assert stage.report()["forward_version"] == [float(forward[mb]) for mb in sorted(forward)]


def test_an_asynchronous_mode_trains_with_evaluations_between_steps() -> None:
    config = TrainConfig(
        data="digits", mode="pipedream", pipeline=PipelineConfig(stages=3, width=32, depth=2),
        microbatches=4, steps=6, eval_every=3,
    )  # fmt: skip
    result = train(config)
    assert [point.step for point in result.curve] == [3, 6]
    assert 0.0 <= result.final.test_accuracy <= 1.0
    frozen = TrainConfig(data="digits", mode="dgl", steps=2, frozen_stages=1)
    with pytest.raises(ValueError, match="frozen_stages"):
        train(frozen)
