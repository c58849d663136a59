"""Recurrent benchmarks take a device: tensors on it, seconds on its clock, clear errors.

Run on the CPU with an explicit ``device``; CUDA is only simulated (the
synchronise call is recorded), so these run on any machine.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from dnibench.cli import main
from dnibench.errors import NotApplicable, UserError
from dnibench.studies.recurrent import device as device_module
from dnibench.studies.recurrent.bench import run_recurrent
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.copy_bench import run_copy
from dnibench.studies.recurrent.device import ChunkClock, resolve_device
from dnibench.studies.recurrent.lm_bench import run_char_lm
from dnibench.studies.recurrent.trainer import build_regime
from dnibench.suites import SuiteError, load_suite

TINY_LM = RecurrentConfig(
    kind="rnn",
    truncation=4,
    width=8,
    batch_size=4,
    chars=256,
    eval_every=128,
    eval_chars=400,
)


def test_cpu_and_auto_without_a_gpu_train_on_the_cpu() -> None:
    assert resolve_device("b", "cpu", cuda_available=True) == torch.device("cpu")
    assert resolve_device("b", "auto", cuda_available=False) == torch.device("cpu")


def test_cuda_without_a_gpu_is_not_applicable_and_names_the_benchmark() -> None:
    with pytest.raises(NotApplicable) as info:
        resolve_device("rnn-gpu-tbptt-T8", "cuda", cuda_available=False)
    message = str(info.value)
    assert "'rnn-gpu-tbptt-T8'" in message and 'device = "cuda"' in message
    assert 'device = "cpu"' in message  # the way out


def test_an_unknown_device_is_refused_with_the_choices() -> None:
    with pytest.raises(UserError, match=r"'b': device 'meta' is not one of auto, cuda, cpu"):
        resolve_device("b", "meta")
    with pytest.raises(ValueError, match="recurrent device must be one of"):
        RecurrentConfig(device="meta")


def test_a_cuda_run_on_a_machine_without_one_fails_before_training(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = RecurrentConfig(kind="copy", device="cuda", width=4, batch_size=2, chars=10)
    with pytest.raises(NotApplicable, match="'copy-cuda-T4' needs a CUDA GPU"):
        run_recurrent("copy-cuda-T4", config, 0)


def test_the_suite_key_is_checked_and_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    entry = '[[benchmark]]\nname = "lm-meta"\nkind = "rnn"\n'
    path.write_text('[suite]\ndescription = "t"\n\n' + entry + 'device = "meta"\n')
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert "lm-meta" in str(info.value) and "'meta' is not allowed" in str(info.value)
    path.write_text('[suite]\ndescription = "t"\n\n' + entry + 'device = "cuda"\n')
    (item,) = load_suite(path).items
    assert item.recurrent is not None and item.recurrent.device == "cuda"


def test_a_suite_run_records_a_cuda_entry_as_not_applicable_without_a_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    path = tmp_path / "s.toml"
    path.write_text(
        '[suite]\ndescription = "t"\nrepeats = 1\n\n[[benchmark]]\nname = "copy-on-gpu"\n'
        'kind = "copy"\ndevice = "cuda"\nwidth = 4\nbatch_size = 2\nchars = 20\n'
    )
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0
    status = (out / "status.csv").read_text()
    assert "copy-on-gpu,not_applicable" in status and "needs a CUDA GPU" in status


def test_the_regime_is_built_on_the_device_with_the_same_weights() -> None:
    config = RecurrentConfig(mode="dni-tbptt", width=8, seed=3)
    default = build_regime(config, 5, 5)
    explicit = build_regime(config, 5, 5, device=torch.device("cpu"))
    assert all(p.device.type == "cpu" for p in explicit.core.parameters())
    for a, b in zip(default.core.parameters(), explicit.core.parameters(), strict=True):
        assert torch.equal(a, b)


def test_an_lm_run_on_an_explicit_device_keeps_both_clocks() -> None:
    result = run_char_lm(TINY_LM, torch.device("cpu"))
    final = result.final
    assert final.chars >= TINY_LM.chars
    assert final.seconds == final.cpu_seconds > 0  # the CPU's clock is the thread's CPU time
    assert final.wall_seconds > 0 and math.isfinite(final.test_bpc)
    rows = {row["metric"]: row["value"] for row in run_recurrent("lm", TINY_LM, 0).rows()}
    assert rows["wall_clock"] == 0.0 and rows["cpu_seconds"] > 0 and rows["wall_seconds"] > 0


def test_a_copy_run_on_an_explicit_device_keeps_both_clocks() -> None:
    config = RecurrentConfig(kind="copy", truncation=3, width=8, batch_size=4, chars=400)
    final = run_copy(config, torch.device("cpu")).final
    assert final.seconds == final.cpu_seconds > 0 and final.wall_seconds > 0
    metrics = {row["metric"] for row in run_recurrent("c", config, 0).rows()}
    assert {"wall_seconds", "cpu_seconds", "wall_clock", "train_seconds"} <= metrics


def test_the_clock_synchronises_cuda_at_both_ends_and_counts_wall_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    synced: list[torch.device] = []
    monkeypatch.setattr(device_module.torch.cuda, "synchronize", synced.append)
    gpu = torch.device("cuda", 0)
    clock = ChunkClock(gpu)
    clock.start()
    sum(range(20000))
    clock.stop()
    assert synced == [gpu, gpu]
    assert clock.seconds == clock.wall > 0 and clock.cpu >= 0


def test_the_cpu_clock_never_synchronises(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(device: object) -> None:
        raise AssertionError("synchronised on the CPU")

    monkeypatch.setattr(device_module.torch.cuda, "synchronize", refuse)
    clock = ChunkClock(torch.device("cpu"))
    clock.start()
    clock.stop()
    assert clock.seconds == clock.cpu
    with pytest.raises(RuntimeError, match="without start"):
        clock.stop()
