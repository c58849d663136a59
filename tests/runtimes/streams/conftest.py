"""Fixtures of the streams tests: small specs and the reference runtime's parameters."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dnibench.bench.spec import BenchSpec
from dnibench.data import BatchStream, load_dataset
from dnibench.optim import OptimConfig
from dnibench.pipeline import build_pipeline
from dnibench.runtimes.reference import ReferenceRuntime

SHAPE = (32,)


def small_spec(mode: str, stages: int, microbatches: int, steps: int = 3, **changes) -> BenchSpec:
    """A tiny streams benchmark on the CPU stand-in that keeps its parameters."""
    return BenchSpec(
        name=f"{mode}-k{stages}-m{microbatches}",
        mode=mode,
        runtime="streams",
        device="cpu",
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
        timeout_s=30,
        keep_parameters=True,
    ).with_(**changes)


def reference_parameters(spec: BenchSpec) -> list[dict[str, torch.Tensor]]:
    """Each stage's parameters after ``spec.steps`` steps of the single-process reference."""
    dataset = load_dataset(spec.data, seed=spec.seed, synthetic_shape=spec.input_shape)
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


@pytest.fixture
def spec_of() -> Callable[..., BenchSpec]:
    """:func:`small_spec`, for tests."""
    return small_spec


@pytest.fixture
def reference_of() -> Callable[[BenchSpec], list[dict[str, torch.Tensor]]]:
    """:func:`reference_parameters`, for tests."""
    return reference_parameters
