"""MFU, HFU and the gap split on hand-made numbers and a hand-made run table.

The split's factors must multiply back to the measured MFU, the residual
being whatever the named factors leave; MFU's denominator is the cores used
times the one-thread peak, with the all-cores peak beside it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from dnibench.rundir.config import BenchmarkEntry, RunConfig, Spec
from dnibench.rundir.reader import RunData
from dnibench.studies.pipeline.flop_budget import DECOUPLING_FLOPS, MODEL_FLOPS, TOKENS_PER_SAMPLE
from dnibench.studies.pipeline.mfu import (
    Peak,
    gap_split,
    mfu_rows,
    peak_of,
    render_mfu,
    utilisation,
)

GFLOP = 1e9
FINGERPRINT = {
    "cores": 2,
    "gemm_gflops_cpu_fp32_one_thread": 100.0,
    "gemm_gflops_cpu_fp32_all_cores": 160.0,
}


def test_mfu_is_model_flops_over_cores_used_times_the_one_thread_peak() -> None:
    peak = Peak(one_unit=100 * GFLOP, all_cores=160 * GFLOP, cores=2, device="cpu")
    use = utilisation(1000.0, 128, 1e8, 2.5e7, 2, peak)
    assert use.tokens_per_s == 128_000
    assert use.mfu == pytest.approx(1000 * 1e8 / (2 * 100 * GFLOP))  # 0.5
    assert use.mfu_all_cores == pytest.approx(1000 * 1e8 / (160 * GFLOP))
    assert use.hfu == pytest.approx(1000 * 1.25e8 / (2 * 100 * GFLOP))
    assert use.hfu - use.mfu == pytest.approx(1000 * 2.5e7 / (2 * 100 * GFLOP))


def test_the_gap_split_multiplies_back_to_the_measured_mfu() -> None:
    split = gap_split(0.2, single_mfu=0.8, lock_idle=0.3, comm=0.07, model_flops=3.0,
                      decoupling_flops=1.0)  # fmt: skip
    assert split.kernel == 0.8
    assert split.bubble == pytest.approx(0.7)
    assert split.communication == pytest.approx(0.63 / 0.7)  # of the time not waiting
    assert split.decoupling == pytest.approx(0.75)
    explained = 0.8 * 0.7 * (0.63 / 0.7) * 0.75
    assert split.residual == pytest.approx(0.2 / explained)
    assert math.prod(split.factors().values()) == pytest.approx(0.2)


def test_a_gap_fully_named_leaves_a_residual_of_one() -> None:
    split = gap_split(0.8 * 0.5 * 1.0 * 1.0, 0.8, 0.5, 0.0, 1.0, 0.0)
    assert split.residual == pytest.approx(1.0)


def test_the_peak_comes_from_the_fingerprint_at_the_run_dtype() -> None:
    peak = peak_of(FINGERPRINT, "fp32", on_gpu=False)
    assert peak == Peak(100 * GFLOP, 160 * GFLOP, 2, "cpu")
    assert peak_of(FINGERPRINT, "bf16", on_gpu=False) is None
    assert peak_of({}, "fp32", on_gpu=False) is None
    gpu = {"gemm_gflops_gpu_bf16": 790_000.0, "gemm_gflops_gpu_bf16_vendor": 989_000.0}
    assert peak_of(gpu, "bf16", on_gpu=True) == Peak(7.9e14, 7.9e14, 1, "gpu", 989e12)


def _rows(bench: str, mode: str, stages: int, m: int, values: dict[str, float],
          per_stage: dict[str, list[float]]) -> list[dict[str, object]]:  # fmt: skip
    common = {"benchmark": bench, "mode": mode, "stages": stages, "microbatches": m, "repeat": 0}
    rows = [{**common, "metric": k, "stage": -1, "value": v, "unit": ""} for k, v in values.items()]
    for metric, values_by_stage in per_stage.items():
        for stage, value in enumerate(values_by_stage):
            rows.append({**common, "metric": metric, "stage": stage, "value": value, "unit": ""})
    return rows


def _run() -> RunData:
    model = {"model": "mlp", "width": 64, "depth": 4, "input_shape": [64], "batch_size": 64,
             "data": "synthetic", "dtype": "fp32"}  # fmt: skip
    flops = {MODEL_FLOPS: 1e6, TOKENS_PER_SAMPLE: 1.0}
    rows = _rows(
        "single-1t-m4", "single", 1, 4,
        {"throughput": 80_000.0, "pipeline_efficiency": 1.0, DECOUPLING_FLOPS: 0.0, **flops},
        {"busy_fraction": [1.0]},
    ) + _rows(
        "dni-m4", "dni", 2, 4,
        {"throughput": 60_000.0, "pipeline_efficiency": 0.9, DECOUPLING_FLOPS: 2.5e5, **flops},
        {"busy_fraction": [0.7, 0.6], "wait_activation_fraction": [0.0, 0.2],
         "wait_gradient_fraction": [0.1, 0.1], "comm_fraction": [0.05, 0.05]},
    )  # fmt: skip
    specs = {"single-1t-m4": {**model, "mode": "single", "threads": 1, "microbatches": 4},
             "dni-m4": {**model, "mode": "dni", "threads": 1, "microbatches": 4}}  # fmt: skip
    config = RunConfig(
        format_version=1,
        benchmarks=tuple(BenchmarkEntry(n, "pipeline", spec=Spec(s)) for n, s in specs.items()),
        present=True,
    )
    return RunData(Path("hand-made"), pd.DataFrame(rows), fingerprint=FINGERPRINT, config=config)


def test_the_run_table_gives_mfu_hfu_and_a_split_that_multiplies_back() -> None:
    peak, rows = mfu_rows(_run())
    assert peak is not None and peak.one_unit == 100 * GFLOP
    by_name = {row.benchmark: row for row in rows}
    single, dni = by_name["single-1t-m4"], by_name["dni-m4"]
    assert single.use.mfu == pytest.approx(80_000 * 1e6 / (1 * 100 * GFLOP))  # 0.8
    assert single.split is None  # the baseline is not split against itself
    assert dni.use.mfu == pytest.approx(60_000 * 1e6 / (2 * 100 * GFLOP))  # 0.3
    assert dni.use.hfu == pytest.approx(60_000 * 1.25e6 / (2 * 100 * GFLOP))
    assert dni.split is not None
    assert dni.split.kernel == pytest.approx(0.8)
    assert dni.split.bubble == pytest.approx(1 - 0.2)  # mean lock idle (0.1 + 0.3) / 2
    assert dni.split.communication == pytest.approx(0.75 / 0.8)
    assert dni.split.decoupling == pytest.approx(0.8)
    assert math.prod(dni.split.factors().values()) == pytest.approx(dni.use.mfu)
    assert dni.split.residual == pytest.approx(0.3 / (0.8 * 0.8 * (0.75 / 0.8) * 0.8))
    text = render_mfu(peak, rows)
    assert "100.0 GFLOP/s on one thread, 160.0 GFLOP/s on all 2 cores" in text
    assert "| dni-m4 | dni | 4 | 60000 | 0.300 |" in text
    assert f"{dni.split.residual:.3f} |" in text


def test_a_run_without_counted_flops_or_a_probed_peak_has_no_table() -> None:
    run = _run()
    no_peak = RunData(run.run_dir, run.results, fingerprint={}, config=run.config)
    assert mfu_rows(no_peak) == (None, [])
    no_flops = run.results[run.results["metric"] != MODEL_FLOPS]
    assert (
        mfu_rows(RunData(run.run_dir, no_flops, fingerprint=FINGERPRINT, config=run.config))[1]
        == []
    )
