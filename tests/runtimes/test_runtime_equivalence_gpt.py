"""The transformer (gpt) in every runtime: bit for bit the reference under dnibench's own
schedules and the decoupled regimes, and within float tolerance under PyTorch's schedules.

The data are character windows of a small generated text file (the ``text`` corpus), so
no run reads the whole standard library; the model is tiny (width 16, 3 blocks + head).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec
from tests.runtimes.test_runtime_equivalence import run_ranks

RuntimeSpecOf = Callable[..., BenchSpec]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]
GPT = {"model": "gpt", "data": "text", "input_shape": (8,), "batch_size": 8, "steps": 2}


@pytest.fixture(scope="module")
def text_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """4000 characters over 13 symbols, each seen far more often than the min_count of 10."""
    chars = random.Random(0).choices("abcdefghijk \n", k=4000)
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("".join(chars), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("runtime", ["dist", "streams"])
@pytest.mark.parametrize("mode", ["sequential", "gpipe", "1f1b", "zb"])
@pytest.mark.parametrize("stages", [2, 3])
def test_own_schedules_match_the_reference_on_the_transformer(
    runtime: str,
    mode: str,
    stages: int,
    text_path: str,
    runtime_spec_of: RuntimeSpecOf,
    matches_reference: MatchesReference,
) -> None:
    spec = runtime_spec_of(runtime, mode, stages, microbatches=4, text_path=text_path, **GPT)
    matches_reference(spec, run_ranks(spec))


@pytest.mark.parametrize("runtime", ["dist", "streams"])
@pytest.mark.parametrize("mode", ["dni", "cdni", "unlock"])
def test_decoupled_regimes_match_the_reference_on_the_transformer(
    runtime: str,
    mode: str,
    text_path: str,
    runtime_spec_of: RuntimeSpecOf,
    matches_reference: MatchesReference,
) -> None:
    spec = runtime_spec_of(runtime, mode, 2, microbatches=2, text_path=text_path, **GPT)
    ranks = run_ranks(spec)
    matches_reference(spec, ranks)
    sg_losses = torch.tensor(ranks[0].log["sg_loss"])  # stage 0 regressed its SG per step
    assert len(sg_losses) == spec.steps * spec.microbatches and torch.isfinite(sg_losses).all()


@pytest.mark.parametrize("mode", ["torch-gpipe", "torch-1f1b", "torch-zb", "torch-zbv"])
def test_pytorch_schedules_train_the_transformer_like_the_reference(
    mode: str, text_path: str, runtime_spec_of: RuntimeSpecOf, reference_of: Callable
) -> None:
    spec = runtime_spec_of("dist", mode, 2, microbatches=4, text_path=text_path, **GPT)
    ranks = launch_local(spec, deadline_s=180)
    expected = reference_of(spec)
    for rank in ranks:
        assert rank.parameters.keys() == expected[rank.rank].keys()
        for name, value in expected[rank.rank].items():
            torch.testing.assert_close(rank.parameters[name], value, rtol=1e-4, atol=1e-5)


def test_the_transformer_spec_wants_token_data(text_path: str) -> None:
    from dnibench.errors import UserError

    with pytest.raises(UserError, match="reads windows of token ids"):
        BenchSpec(name="x", mode="gpipe", model="gpt", input_shape=(8,))
    with pytest.raises(UserError, match="token windows for a language model"):
        BenchSpec(name="x", mode="gpipe", data="text", text_path=text_path)
    assert Path(text_path).is_file()
