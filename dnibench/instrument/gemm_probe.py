"""The machine's arithmetic peak, measured: the best matrix-product rate torch reaches here.

MFU needs a denominator. A vendor's datasheet figure is one (and is shown),
but what ``torch.matmul`` reaches on this machine, in the run's dtype, is the
figure a pipeline can actually be held to. The probe times square products
of several sizes and keeps the best (minimum time over sizes and repeats): a
mean is dragged down by the smaller, cache-bound sizes and by a noisy
neighbour (on the 2-core development machine, a mean of 5 products at 2048
gave 133 GFLOP/s at 2 threads where the best of 7 over sizes gave 194).

On a CPU it measures one thread (the per-core peak MFU's denominator is
built from) and all cores (shown beside it), setting ``torch.set_num_threads``
and restoring it afterwards; the whole probe is kept well under 5 s by
stopping at the first size whose product takes longer than a budget. On a
GPU it runs bf16 (or the run's dtype), synchronising before and after each
timed product. A product of two n x n matrices is 2 n^3 FLOPs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from dnibench.precision import torch_dtype

Clock = Callable[[], float]
"""Seconds from an arbitrary origin (``time.perf_counter``; tests patch it)."""

CPU_SIZES = (128, 256, 512, 1024)
GPU_SIZES = (2048, 4096, 8192)
REPEATS = 3
SIZE_BUDGET_S = 0.25
"""No larger size is tried once one product took this long (keeps the CPU probe short)."""

VENDOR_PEAKS_TFLOPS: dict[str, dict[str, float]] = {
    # Dense (no sparsity) tensor-core figures from the datasheets; TF32 for fp32 products.
    "H200": {"bf16": 989.0, "fp32": 494.0},
    "H100": {"bf16": 989.0, "fp32": 494.0},
    "A100": {"bf16": 312.0, "fp32": 156.0},
}
"""Datasheet peaks by GPU family, in TFLOP/s (shown beside the measured peak)."""

MEASURED_NOTE = "H200 bf16 through PyTorch: about 790 TFLOP/s measured on large products"


def matmul_flops(n: int) -> float:
    """FLOPs of one product of two ``n`` x ``n`` matrices (a multiply and an add per term)."""
    return 2.0 * n**3


@dataclass(frozen=True)
class GemmPeak:
    """The best rate of square products measured at one dtype, device and thread count."""

    dtype: str
    device: str
    threads: int | None
    flops_per_s: float
    best_size: int
    best_seconds: float
    sizes: tuple[int, ...]
    repeats: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_matmul(
    n: int, dtype: torch.dtype, device: torch.device, repeats: int, clock: Clock
) -> float:
    """Minimum seconds of ``repeats`` products of two ``n`` x ``n`` matrices (one warm-up first)."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.matmul(a, b)  # warm-up: allocation, kernel selection
    best = float("inf")
    for _ in range(repeats):
        _synchronise(device)
        started = clock()
        torch.matmul(a, b)
        _synchronise(device)
        best = min(best, clock() - started)
    return best


def probe_peak(
    dtype: str,
    device: torch.device | str = "cpu",
    *,
    sizes: Sequence[int] = CPU_SIZES,
    repeats: int = REPEATS,
    threads: int | None = None,
    clock: Clock = time.perf_counter,
    budget_s: float = SIZE_BUDGET_S,
) -> GemmPeak:
    """Best FLOP/s over ``sizes`` and ``repeats`` at ``dtype``; ``threads`` set, then restored."""
    device = torch.device(device)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        best_rate, best_size, best_seconds = 0.0, 0, float("inf")
        for n in sizes:
            seconds = time_matmul(n, torch_dtype(dtype), device, repeats, clock)
            rate = matmul_flops(n) / seconds if seconds > 0 else 0.0
            if rate > best_rate:
                best_rate, best_size, best_seconds = rate, n, seconds
            if seconds > budget_s:
                break
    finally:
        torch.set_num_threads(before)
    return GemmPeak(
        dtype=dtype,
        device=device.type,
        threads=threads if device.type == "cpu" else None,
        flops_per_s=best_rate,
        best_size=best_size,
        best_seconds=best_seconds,
        sizes=tuple(sizes),
        repeats=repeats,
    )


def vendor_peak_tflops(gpu_name: str | None, dtype: str) -> float | None:
    """The datasheet's dense peak for ``gpu_name`` at ``dtype`` (None for an unknown GPU)."""
    if not gpu_name:
        return None
    for family, peaks in VENDOR_PEAKS_TFLOPS.items():
        if family in gpu_name.upper():
            return peaks.get(dtype)
    return None


def peak_key(device: str, dtype: str, scope: str = "") -> str:
    """The fingerprint key of one measured peak, in GFLOP/s: ``gemm_gflops_cpu_fp32_one_thread``.

    Flat keys with plain numbers, so the report's environment table shows one
    readable row per figure and a reader needs no nesting.
    """
    return "_".join(part for part in ("gemm_gflops", device, dtype, scope) if part)


def machine_peaks(dtypes: Sequence[str]) -> dict[str, object]:
    """The probe for the fingerprint: per dtype, one thread and all cores on the CPU; on a GPU,
    bf16 with the vendor's figure beside it. Values in GFLOP/s (one decimal)."""
    cores = os.cpu_count() or 1
    peaks: dict[str, object] = {
        "gemm_probe": f"best of square torch.matmul over n = {CPU_SIZES[0]}..{CPU_SIZES[-1]} "
        f"(CPU), {GPU_SIZES[0]}..{GPU_SIZES[-1]} (GPU), {REPEATS} repeats each",
    }
    for dtype in dict.fromkeys(dtypes):
        one = probe_peak(dtype, "cpu", threads=1)
        every = one if cores == 1 else probe_peak(dtype, "cpu", threads=cores)
        peaks[peak_key("cpu", dtype, "one_thread")] = round(one.flops_per_s / 1e9, 1)
        peaks[peak_key("cpu", dtype, "all_cores")] = round(every.flops_per_s / 1e9, 1)
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        gpu = probe_peak("bf16", "cuda", sizes=GPU_SIZES)
        peaks[peak_key("gpu", "bf16")] = round(gpu.flops_per_s / 1e9, 1)
        vendor = vendor_peak_tflops(name, "bf16")
        peaks[peak_key("gpu", "bf16", "vendor")] = None if vendor is None else vendor * 1e3
        peaks["gemm_note"] = MEASURED_NOTE
    return peaks


__all__ = [
    "CPU_SIZES", "GPU_SIZES", "REPEATS", "VENDOR_PEAKS_TFLOPS", "GemmPeak", "machine_peaks",
    "matmul_flops", "peak_key", "probe_peak", "time_matmul", "vendor_peak_tflops",
]  # fmt: skip
