"""The asynchronous modes on both runtimes reproduce their textbook loops bit for bit.

dist (gloo processes) and streams (the CPU stand-in) run each mode's
schedule through the one stage driver; :mod:`async_reference` runs the
same rule as a plain single-process loop with every weight version an
explicit copy. Parameters (and BatchNorm buffers) must be ``torch.equal``,
and each stage must have used the versions the loop used.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import torch
from async_reference import reference_run

from dnibench.modes import Family, mode_names
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

ASYNC_MODES = mode_names(Family.ASYNC)


def run_ranks(spec: BenchSpec) -> list[RankResult]:
    """Every rank's result of ``spec`` on its runtime, in rank order."""
    if spec.runtime == "streams":
        from dnibench.runtimes.streams.runner import run_streams

        return run_streams(spec).ranks
    from dnibench.runtimes.distributed.launch import launch_local

    return sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)


@pytest.mark.parametrize("runtime", ["dist", "streams"])
@pytest.mark.parametrize("mode", ASYNC_MODES)
@pytest.mark.parametrize("stages", [2, 3])
def test_asynchronous_mode_matches_its_textbook_loop(
    runtime: str, mode: str, stages: int, runtime_spec_of: Callable[..., BenchSpec]
) -> None:
    spec = runtime_spec_of(runtime, mode, stages, microbatches=4, steps=3)
    ranks = run_ranks(spec)
    expected, forwards, backwards = reference_run(spec)
    assert [rank.rank for rank in ranks] == list(range(stages))
    for rank, reference, forward, backward in zip(
        ranks, expected, forwards, backwards, strict=True
    ):
        assert rank.parameters.keys() == reference.keys()
        for name, value in reference.items():
            assert torch.equal(rank.parameters[name], value), f"{mode} stage {rank.rank} {name}"
        assert rank.log["forward_version"] == [float(forward[mb]) for mb in sorted(forward)]
        assert rank.log["backward_version"] == [float(backward[mb]) for mb in sorted(backward)]


#: The layers PipeMare's stale-weight functions cover beyond Linear and BatchNorm1d, on
#: tiny models: Conv2d with BatchNorm2d (cnn), Conv1d (mnist1d's conv net), and the
#: transformer's Embedding, LayerNorm and attention projections (gpt).
LAYER_MODELS: dict[str, dict[str, object]] = {
    "conv": {"model": "conv", "input_shape": (1, 8, 8), "width": 4},
    "conv1d": {"model": "conv1d", "input_shape": (1, 12), "width": 4},
    "gpt": {"model": "gpt", "data": "text", "input_shape": (8,), "batch_size": 8},
}


@pytest.fixture(scope="module")
def text_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """4000 characters over 13 symbols (the gpt equivalence tests' tiny corpus)."""
    chars = random.Random(0).choices("abcdefghijk \n", k=4000)
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("".join(chars), encoding="utf-8")
    return str(path)


#: (runtime, model, K): K = 3 on the streams stand-in only (the gloo processes are slow).
LAYER_CASES = [
    (runtime, model, stages)
    for runtime in ("dist", "streams")
    for model, stages in [("conv", 2), ("conv", 3), ("conv1d", 2), ("gpt", 2), ("gpt", 3)]
    if runtime == "streams" or stages == 2
]


@pytest.mark.parametrize("mode", ["pipemare", "pipemare-plain"])
@pytest.mark.parametrize(("runtime", "model", "stages"), LAYER_CASES)
def test_pipemare_matches_its_textbook_loop_on_conv_nets_and_the_transformer(
    runtime: str,
    mode: str,
    model: str,
    stages: int,
    text_path: str,
    runtime_spec_of: Callable[..., BenchSpec],
) -> None:
    changes = dict(LAYER_MODELS[model])
    if model == "gpt":
        changes["text_path"] = text_path
    spec = runtime_spec_of(runtime, mode, stages, microbatches=2, steps=3, **changes)
    ranks = run_ranks(spec)
    expected, forwards, backwards = reference_run(spec)
    for rank, reference, forward, backward in zip(
        ranks, expected, forwards, backwards, strict=True
    ):
        assert rank.parameters.keys() == reference.keys()
        for name, value in reference.items():
            assert torch.equal(rank.parameters[name], value), f"{model} stage {rank.rank} {name}"
        assert rank.log["forward_version"] == [float(forward[mb]) for mb in sorted(forward)]
        assert rank.log["backward_version"] == [float(backward[mb]) for mb in sorted(backward)]
