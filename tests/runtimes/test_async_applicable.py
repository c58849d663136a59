"""An asynchronous mode that refuses a model is "not applicable" before any process starts."""

from __future__ import annotations

from unittest import mock

import pytest

from dnibench.errors import NotApplicable
from dnibench.optim import OptimConfig
from dnibench.runtimes.async_applicable import require_async_applicable
from dnibench.runtimes.spec import BenchSpec


def _spec(mode: str, model: str) -> BenchSpec:
    return BenchSpec(
        name=f"applicable-{mode}-{model}", mode=mode, data="digits", model=model, width=8,
        stages=2, microbatches=2, batch_size=16, steps=2, warmup=1,
        optim=OptimConfig(name="sgd", lr=0.1), timeout_s=60, seed=0,
    )  # fmt: skip


def test_a_build_time_refusal_is_not_applicable_with_the_reason() -> None:
    """(Whether pipemare refuses a conv net depends on its supported layers; a stand-in
    refusal keeps this test independent of that.)"""
    with (
        mock.patch(
            "dnibench.runtimes.async_applicable.build_for_rank",
            side_effect=ValueError("pipemare refuses this layer"),
        ),
        pytest.raises(NotApplicable, match="applicable-pipemare-mlp: pipemare on the mlp model"),
    ):
        require_async_applicable(_spec("pipemare", "mlp"))


@pytest.mark.parametrize("mode", ["pipedream", "pipemare", "dgl"])
def test_a_model_every_mode_runs_passes(mode: str) -> None:
    require_async_applicable(_spec(mode, "mlp"))


def test_an_exact_schedule_is_not_built_in_the_parent() -> None:
    with mock.patch("dnibench.runtimes.async_applicable.build_for_rank") as build:
        require_async_applicable(_spec("1f1b", "mlp"))
    assert not build.called
