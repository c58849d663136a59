"""Where the composed snapshots are scored: a GPU run's model on its GPU, the rest on the CPU."""

from __future__ import annotations

import pytest
import torch

from dnibench.runtimes import snapshot_eval
from dnibench.runtimes.spec import BenchSpec


def _spec(runtime: str, device: str) -> BenchSpec:
    return BenchSpec(name="t", mode="1f1b", data="digits", model="mlp", runtime=runtime,
                     device=device)  # fmt: skip


def test_without_a_gpu_everything_is_scored_on_the_cpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert snapshot_eval.eval_device(_spec("streams", "cuda")).type == "cpu"
    assert snapshot_eval.eval_device(_spec("dist", "cpu")).type == "cpu"


def test_a_streams_run_on_a_gpu_is_scored_on_that_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert snapshot_eval.eval_device(_spec("streams", "cuda")) == torch.device("cuda", 0)
    assert snapshot_eval.eval_device(_spec("streams", "cpu")).type == "cpu"  # the stand-in
    assert snapshot_eval.eval_device(_spec("dist", "cpu")).type == "cpu"
