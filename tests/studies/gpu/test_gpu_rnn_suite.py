"""The gpu-rnn suite (priority 3 of tools/gpu_check.sh) and the draft of priority 2."""

from __future__ import annotations

from pathlib import Path

from dnibench.suites import load_suite
from dnibench.suites.rewrites import load_suite_profile, profile_names

SUITES = Path(__file__).resolve().parents[3] / "suites"


def test_gpu_rnn_runs_tbptt_8_and_40_and_dni_8_at_width_1024_on_cuda() -> None:
    suite = load_suite("gpu-rnn")
    configs = {item.name: item.recurrent for item in suite.items}
    assert set(configs) == {"gpu-rnn-tbptt-T8", "gpu-rnn-tbptt-T40", "gpu-rnn-dni-T8"}
    regimes = set()
    for config in configs.values():
        assert config is not None and config.kind == "rnn" and config.device == "cuda"
        assert config.width == 1024 and config.aux is False
        assert config.eval_every >= config.chars  # one evaluation, off the clock, at the end
        regimes.add((config.mode, config.truncation))
    assert regimes == {("tbptt", 8), ("tbptt", 40), ("dni-tbptt", 8)}
    assert all(item.repeats == 1 for item in suite.items)


def test_its_cpu_profile_keeps_the_names_and_moves_everything_to_the_cpu() -> None:
    assert profile_names("gpu-rnn") == ["cpu"]
    plain, cpu = load_suite("gpu-rnn"), load_suite_profile("gpu-rnn", "cpu")
    assert cpu.names == plain.names
    for item in cpu.items:
        assert item.recurrent is not None and item.recurrent.device == "cpu"
        assert item.recurrent.width < 64 and item.recurrent.chars <= 10_000


def test_priority_2_is_the_transformer_in_bf16_with_a_cpu_rehearsal() -> None:
    gpu = load_suite("gpu-gpt")
    cpu = load_suite_profile("gpu-gpt", "cpu")
    assert gpu.names == cpu.names
    stages = set()
    for item in gpu.items:
        spec = item.spec
        assert spec is not None and spec.model == "gpt" and spec.dtype == "bf16"
        assert spec.device == "cuda" and spec.runtime == "streams"
        stages.add(spec.stages)
    assert {2, 4} <= stages
    for item in cpu.items:
        assert item.spec is not None and item.spec.device == "cpu" and item.spec.dtype == "fp32"
