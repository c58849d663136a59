"""The recurrent benchmarks on a GPU: tensors there, wall seconds. Skipped without a GPU."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from dnibench.studies.recurrent.bench import run_recurrent
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.lm_bench import run_char_lm
from dnibench.studies.recurrent.trainer import build_regime

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TINY = RecurrentConfig(
    kind="rnn", truncation=4, width=16, batch_size=4, chars=512, eval_every=256, eval_chars=400
)


def test_the_regime_lives_on_the_gpu_with_the_cpu_weights() -> None:
    config = RecurrentConfig(mode="dni-tbptt", aux=True, width=16, seed=1)
    gpu = build_regime(config, 7, 7, device=torch.device("cuda"))
    cpu = build_regime(config, 7, 7)
    for a, b in zip(gpu.core.parameters(), cpu.core.parameters(), strict=True):
        assert a.device.type == "cuda" and torch.equal(a.cpu(), b)


@pytest.mark.parametrize("mode", ["tbptt", "dni-tbptt"])
def test_an_lm_run_trains_on_the_gpu_and_counts_wall_seconds(mode: str) -> None:
    config = replace(TINY, mode=mode, device="cuda")
    run = run_recurrent("gpu-lm", config, 0)
    assert run.device == "cuda"
    final = run.result.final
    assert final.seconds == final.wall_seconds > 0 and final.cpu_seconds > 0
    rows = {row["metric"]: row["value"] for row in run.rows()}
    assert rows["wall_clock"] == 1.0 and math.isfinite(rows["bpc"])


def test_the_gpu_learns_what_the_cpu_learns() -> None:
    cpu = run_char_lm(TINY, torch.device("cpu")).final.test_bpc
    gpu = run_char_lm(TINY, torch.device("cuda")).final.test_bpc
    assert gpu == pytest.approx(cpu, abs=0.05)  # same seed and data; kernels differ in order


def test_a_copy_run_trains_on_the_gpu() -> None:
    config = RecurrentConfig(
        kind="copy", mode="dni-tbptt", truncation=3, width=8, batch_size=4, chars=400
    )
    run = run_recurrent("gpu-copy", replace(config, device="cuda"), 0)
    assert run.device == "cuda" and run.result.final.chars >= 400
