"""The snapshot grid and the snapshot taker, without processes."""

from __future__ import annotations

import torch

from dnibench.data import load_dataset
from dnibench.modes import ONE_F_ONE_B
from dnibench.pipeline import PipelineConfig, build_pipeline
from dnibench.runtimes.snapshots import SnapshotTaker, eval_points


def test_the_grid_is_every_nth_step_and_the_last() -> None:
    assert eval_points(3, 10, 32) == [96, 192, 288, 320]
    assert eval_points(5, 10, 8) == [40, 80]
    assert eval_points(0, 10, 8) == []


def test_the_taker_copies_on_the_update_that_reaches_each_point() -> None:
    data = load_dataset("digits", seed=0)
    pipeline = build_pipeline(
        PipelineConfig(model="mlp", width=8, depth=1, stages=2),
        ONE_F_ONE_B.regime,
        data.input_shape,
        data.num_classes,
        data.x_train[:8],
    )
    stage = pipeline.stages[0]
    taker = SnapshotTaker([32, 64, 128], microbatch_size=16, stages=[(0, stage)], rank=0)
    taker.start()
    taker.after_update(1)  # 16 samples: no point reached
    assert taker.snapshots == []
    taker.after_update(2)  # 32 samples
    weight = next(iter(stage.module.parameters()))
    with torch.no_grad():
        weight.add_(1.0)  # a later update must not change the copy
    taker.after_update(8)  # 128 samples: reaches 64 and 128 at once
    assert [s.samples for s in taker.snapshots] == [32, 64, 128]
    first, later = taker.snapshots[0].state, taker.snapshots[2].state
    name = next(k for k in first if k.endswith("weight"))
    assert torch.equal(first[name] + 1.0, later[name])
    assert all(s.copy_s >= 0 and s.wall_s >= 0 for s in taker.snapshots)
    assert taker.snapshots[0].wall_s <= taker.snapshots[1].wall_s


def test_per_microbatch_updates_copy_once_per_point_at_the_update_that_reaches_it() -> None:
    """pipedream and pipemare update after every microbatch: one copy per grid point."""
    data = load_dataset("digits", seed=0)
    pipeline = build_pipeline(
        PipelineConfig(model="mlp", width=8, depth=1, stages=2),
        ONE_F_ONE_B.regime,
        data.input_shape,
        data.num_classes,
        data.x_train[:8],
    )
    taker = SnapshotTaker([32, 64], microbatch_size=16, stages=[(1, pipeline.stages[1])], rank=1)
    taker.start()
    copies = []
    for done in range(1, 6):
        taker.after_update(done)
        copies.append(len(taker.snapshots))
    assert copies == [0, 1, 1, 2, 2]
    assert [(s.stage, s.samples) for s in taker.snapshots] == [(1, 32), (1, 64)]
