"""Fixtures shared by the runtime tests: tiny specs and the reference runtime's parameters.

Every runtime (dist over gloo, streams on the CPU stand-in) is checked the
same way: train a tiny model for a few steps and compare each stage's
parameters with the single-process reference's. The spec and the reference
live here once so the runtimes are held to exactly the same model and data.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dnibench.data import BatchStream, load_dataset
from dnibench.optim import OptimConfig
from dnibench.pipeline import build_pipeline
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.runtimes.spec import BenchSpec

SHAPE = (32,)

#: What a spec changes to run on each runtime under test (streams: the CPU stand-in).
RUNTIME_CHANGES: dict[str, dict[str, object]] = {
    "dist": {},
    "streams": {"runtime": "streams", "device": "cpu", "timeout_s": 30},
}


def small_spec(mode: str, stages: int, microbatches: int, steps: int = 3, **changes) -> BenchSpec:
    """A tiny benchmark that keeps its parameters (dist runtime unless ``changes`` say so)."""
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
    ).with_(**changes)


def reference_parameters(spec: BenchSpec) -> list[dict[str, torch.Tensor]]:
    """Each stage's parameters after ``spec.steps`` steps of the single-process reference."""
    dataset = load_dataset(
        spec.data, seed=spec.seed, synthetic_shape=spec.input_shape, text_path=spec.text_path
    )
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
    """:func:`small_spec`, for tests (a runtime's own conftest may override it)."""
    return small_spec


@pytest.fixture
def runtime_spec_of() -> Callable[..., BenchSpec]:
    """:func:`small_spec` on a named runtime: ``(runtime, mode, stages, microbatches, ...)``."""

    def on(
        on_runtime: str, /, mode: str, stages: int, microbatches: int, steps: int = 3, **changes
    ):
        settings = {**RUNTIME_CHANGES[on_runtime], **changes}
        return small_spec(mode, stages, microbatches, steps, **settings)

    return on


@pytest.fixture
def reference_of() -> Callable[[BenchSpec], list[dict[str, torch.Tensor]]]:
    """:func:`reference_parameters`, for tests."""
    return reference_parameters


def assert_bit_equal(spec: BenchSpec, ranks: list[RankResult]) -> None:
    """Every stage's parameters are ``torch.equal`` to the reference's after ``spec``'s steps.

    Same code, same seed, same microbatch order: bit-identical, not merely close.
    """
    expected = reference_parameters(spec)
    assert [rank.rank for rank in ranks] == list(range(len(expected)))
    for rank, reference in zip(ranks, expected, strict=True):
        assert rank.parameters.keys() == reference.keys()
        for name, value in reference.items():
            assert torch.equal(rank.parameters[name], value), f"stage {rank.rank} {name}"


@pytest.fixture
def matches_reference() -> Callable[[BenchSpec, list[RankResult]], None]:
    """:func:`assert_bit_equal`, for the equivalence tests of every runtime."""
    return assert_bit_equal
