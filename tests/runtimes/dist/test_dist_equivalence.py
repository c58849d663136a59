"""The dist runtime over real gloo process groups reproduces the reference runtime."""

from __future__ import annotations

import pytest
import torch

from dnibench.bench.spec import BenchSpec
from dnibench.data import BatchStream, load_dataset
from dnibench.optim import OptimConfig
from dnibench.pipeline import build_pipeline
from dnibench.runtimes.dist.launch import launch_local
from dnibench.runtimes.reference import ReferenceRuntime

SHAPE = (32,)


def _spec(mode: str, stages: int, microbatches: int, steps: int = 3) -> BenchSpec:
    return BenchSpec(
        name=f"{mode}-k{stages}-m{microbatches}",
        mode=mode,
        width=16,
        depth=3,
        input_shape=SHAPE,
        stages=stages,
        microbatches=microbatches,
        batch_size=16,
        steps=steps,
        warmup=0,
        optim=OptimConfig(name="sgd", lr=0.1),  # not scale-invariant, unlike Adam
        staleness=0,
        timeout_s=60,
        keep_parameters=True,
    )


def _reference_parameters(spec: BenchSpec) -> list[dict[str, torch.Tensor]]:
    dataset = load_dataset("synthetic", seed=spec.seed, synthetic_shape=SHAPE)
    pipeline = build_pipeline(
        spec.pipeline_config,
        spec.regime,
        dataset.input_shape,
        dataset.num_classes,
        dataset.x_train[: spec.batch_size],
    )
    runtime = ReferenceRuntime(
        pipeline.stages, spec.regime, spec.microbatches, update_every=spec.update_every
    )
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    for step in range(spec.steps):
        runtime.train_step(*stream.batch(step))
    return [stage.module.state_dict() for stage in pipeline.stages]


def _assert_same(spec: BenchSpec) -> None:
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    expected = _reference_parameters(spec)
    assert len(ranks) == spec.stages
    for rank, reference in zip(ranks, expected, strict=True):
        assert rank.parameters.keys() == reference.keys()
        for name, value in reference.items():
            torch.testing.assert_close(rank.parameters[name], value, msg=f"stage {rank.rank} {name}")


@pytest.mark.parametrize("mode", ["gpipe", "1f1b", "sequential"])
@pytest.mark.parametrize("stages", [2, 4])
def test_backprop_schedules_match_the_reference(mode: str, stages: int) -> None:
    _assert_same(_spec(mode, stages, microbatches=4))


@pytest.mark.parametrize("mode", ["dni", "cdni", "unlock"])
@pytest.mark.parametrize("stages", [2, 4])
def test_unlocked_schedules_with_staleness_0_match_the_reference(mode: str, stages: int) -> None:
    _assert_same(_spec(mode, stages, microbatches=2))


@pytest.mark.parametrize("mode", ["dni", "unlock"])
def test_per_microbatch_updates_match_the_reference(mode: str) -> None:
    _assert_same(_spec(mode, 4, microbatches=4).with_(update_per_microbatch=True))


def test_a_dist_run_actually_trains() -> None:
    spec = _spec("gpipe", 2, microbatches=2)
    initial = _reference_parameters(spec.with_(steps=1, optim=OptimConfig(name="sgd", lr=1e-12)))
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    moved = [
        not torch.allclose(ranks[k].parameters[name], value)
        for k in range(2)
        for name, value in initial[k].items()
        if name.endswith("weight")
    ]
    assert all(moved)
