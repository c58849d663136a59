"""The GEMM probe computes FLOP/s right (2 n^3 / seconds) and restores the thread count.

The clock is patched, so nothing here depends on how fast this machine is.
"""

from __future__ import annotations

import torch

from dnibench.instrument import gemm_probe
from dnibench.instrument.gemm_probe import matmul_flops, probe_peak, vendor_peak_tflops


def _stepping_clock(durations: list[float]):
    """A clock whose k-th (start, stop) pair is ``durations[k]`` apart."""
    state = {"t": 0.0, "k": 0, "started": False}

    def clock() -> float:
        if state["started"]:
            state["t"] += durations[state["k"]]
            state["k"] += 1
        state["started"] = not state["started"]
        return state["t"]

    return clock


def test_a_product_of_n_by_n_matrices_is_two_n_cubed_flops() -> None:
    assert matmul_flops(8) == 2 * 8**3


def test_the_rate_is_flops_over_the_best_time_of_the_repeats() -> None:
    clock = _stepping_clock([0.5, 0.25, 1.0])  # three repeats of one size: best 0.25 s
    peak = probe_peak("fp32", sizes=(8,), repeats=3, clock=clock, budget_s=10.0)
    assert peak.best_seconds == 0.25
    assert peak.flops_per_s == 2 * 8**3 / 0.25
    assert peak.best_size == 8 and peak.dtype == "fp32" and peak.device == "cpu"


def test_the_best_size_wins_and_a_slow_size_ends_the_probe() -> None:
    # size 4: 1e-3 s per product; size 8: 2e-3 s (rate 8x/2 = 4x better); 16 is never tried.
    clock = _stepping_clock([1e-3, 1e-3, 2e-3, 2e-3])
    peak = probe_peak("fp32", sizes=(4, 8, 16), repeats=2, clock=clock, budget_s=1.5e-3)
    assert peak.best_size == 8
    assert peak.flops_per_s == matmul_flops(8) / 2e-3


def test_threads_are_set_for_the_probe_and_restored_after() -> None:
    before = torch.get_num_threads()
    seen: list[int] = []

    def clock() -> float:
        seen.append(torch.get_num_threads())
        return float(len(seen))

    peak = probe_peak("bf16", sizes=(4,), repeats=1, threads=1, clock=clock)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    assert peak.threads == 1 and peak.flops_per_s == matmul_flops(4) / 1.0


def test_the_vendor_figure_is_known_for_an_h200() -> None:
    assert vendor_peak_tflops("NVIDIA H200", "bf16") == 989.0
    assert vendor_peak_tflops("Some GPU", "bf16") is None
    assert vendor_peak_tflops(None, "bf16") is None


def test_the_machine_probe_measures_one_thread_and_all_cores(monkeypatch) -> None:
    calls: list[tuple[str, int | None]] = []

    def fake(dtype: str, device: str = "cpu", **kwargs: object) -> gemm_probe.GemmPeak:
        threads = kwargs.get("threads")
        calls.append((dtype, threads))  # type: ignore[arg-type]
        return gemm_probe.GemmPeak(dtype, "cpu", threads, 1e9, 8, 1e-6, (8,), 1)  # type: ignore[arg-type]

    monkeypatch.setattr(gemm_probe, "probe_peak", fake)
    monkeypatch.setattr(gemm_probe.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(gemm_probe.torch.cuda, "is_available", lambda: False)
    peaks = gemm_probe.machine_peaks(["fp32"])
    assert calls == [("fp32", 1), ("fp32", 4)]
    assert peaks["gemm_gflops_cpu_fp32_one_thread"] == 1.0  # GFLOP/s
    assert peaks["gemm_gflops_cpu_fp32_all_cores"] == 1.0
    assert not any(key.startswith("gemm_gflops_gpu") for key in peaks)
