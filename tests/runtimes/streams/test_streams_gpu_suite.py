"""The ``gpu`` suite and the GPU report section, checked without a GPU."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import pytest

from dnibench.runtimes.spec import OWN_MODES, PEER_MODES, BenchSpec
from dnibench.runtimes.streams.devices import STANDIN_NOTE
from dnibench.runtimes.streams.runner import run_streams
from dnibench.studies.gpu.section import EFFICIENCY_GOAL, gpu_section_markdown, gpu_targets
from dnibench.suites import load_suite

SpecOf = Callable[..., BenchSpec]


def test_gpu_suite_runs_every_regime_on_streams_at_several_microbatch_counts() -> None:
    suite = load_suite("gpu")
    streams = [i for i in suite.items if i.runtime == "streams"]
    assert streams and all(i.spec is not None and i.spec.device == "cuda" for i in streams)
    for mode in OWN_MODES:
        counts = {i.spec.microbatches for i in streams if i.spec and i.spec.mode == mode}
        assert len(counts) >= 3, f"{mode} runs at microbatch counts {sorted(counts)}"
    sg_widths = {i.spec.sg.width for i in streams if i.spec and i.spec.mode == "dni"}
    assert len(sg_widths) >= 3
    assert any(i.spec and not i.spec.nvml for i in streams)  # the sampling-off pair


def test_gpu_suite_puts_dist_on_nccl_next_to_the_torch_peers() -> None:
    suite = load_suite("gpu")
    dist = [i.spec for i in suite.items if i.runtime == "dist" and i.spec is not None]
    assert dist and all(spec.backend == "nccl" for spec in dist)
    assert {"torch-gpipe", "torch-1f1b"} <= {spec.mode for spec in dist}
    assert {spec.mode for spec in dist if spec.mode.startswith("torch-")} <= set(PEER_MODES)
    assert any(spec.world_size == 1 for spec in dist)  # runs on a single GPU
    for ratio in suite.ratios:
        assert {ratio.numerator, ratio.denominator} <= set(suite.names)


def _frame(results: list, gpus: int) -> pd.DataFrame:
    rows = [row for result in results for row in result.rows()]
    frame = pd.DataFrame(rows)
    frame.loc[frame.metric == "stream_gpus", "value"] = float(gpus)
    return frame


def _named(spec_of: SpecOf, mode: str, name: str):
    return run_streams(spec_of(mode, 2, microbatches=2, steps=3, keep_parameters=False, name=name))


def test_gpu_section_flags_stand_in_runs_and_sets_no_gpu_targets(spec_of: SpecOf) -> None:
    frame = _frame([_named(spec_of, "dni", "streams-dni-m8")], gpus=0)
    markdown = gpu_section_markdown(frame)
    assert markdown is not None and "CPU stand-in" in markdown
    assert "streams-dni-m8" in markdown
    assert not gpu_targets(frame)  # stand-in timings are never checked as GPU numbers
    assert STANDIN_NOTE.startswith("CPU stand-in")


def test_gpu_section_sets_span_idle_next_to_nvml_and_checks_the_targets(
    spec_of: SpecOf,
) -> None:
    results = [
        _named(spec_of, "dni", "streams-dni-m8"),
        _named(spec_of, "gpipe", "streams-gpipe-m8"),
        _named(spec_of, "dni", "streams-dni-m8-nvml-off"),
    ]
    frame = _frame(results, gpus=1)
    template = frame[frame.benchmark == "streams-dni-m8"].iloc[0].to_dict()
    extra = []
    for metric, value in (("gpu_utilisation", 87.5), ("gpu_energy_per_sample", 0.0123),
                          ("nvml_overhead", 0.004)):  # fmt: skip
        extra.append({**template, "metric": metric, "stage": 0, "value": value})
    frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)

    markdown = gpu_section_markdown(frame)
    assert markdown is not None and "CPU stand-in" not in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| streams-dni-m8 |"))
    assert "87.5" in row and "0.0123" in row and "0.40 %" in row

    targets = {t.name: t for t in gpu_targets(frame)}
    efficiency = targets["streams-dni-m8 pipeline efficiency"]
    measured = frame.query("benchmark == 'streams-dni-m8' and metric == 'pipeline_efficiency'")
    assert efficiency.measured == pytest.approx(float(measured.value.iloc[0]))
    assert efficiency.goal == EFFICIENCY_GOAL
    throughput = frame[(frame.metric == "throughput") & (frame.stage == -1)]
    by_name = throughput.set_index("benchmark").value
    ratio = targets["streams-dni-m8 / streams-gpipe-m8 throughput"]
    assert ratio.measured == pytest.approx(by_name["streams-dni-m8"] / by_name["streams-gpipe-m8"])
    overhead = targets["NVML sampling overhead (sampler time / wall, worst benchmark)"]
    assert overhead.measured == pytest.approx(0.004) and overhead.met
    paired = targets["streams-dni-m8 NVML cost: throughput lost with sampling on (paired, noisy)"]
    assert not math.isnan(paired.measured)
