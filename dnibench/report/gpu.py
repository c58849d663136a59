"""The GPU section of a report: streams and nccl runs next to their NVML telemetry.

Any run whose rows hold GPU telemetry (``gpu_*`` metrics from NVML) or a
streams benchmark (``stream_gpus``) gets this section. Per benchmark it puts
the span-based view (throughput, pipeline efficiency, idle time of the stage
streams) next to what NVML saw on the GPU (utilisation, power, energy per
sample, sampling cost), because the two disagree in instructive ways: NVML
counts a GPU as busy whenever any kernel runs, so K stages sharing one GPU
can show high utilisation while every stage stream still idles on its locks.

When the run holds the ``gpu`` suite's benchmarks, the issue's targets are
checked too: DNI and unlock pipeline efficiency on streams, same-run ratios
against GPipe, 1F1B and the torch peers, and the NVML sampling overhead.
Streams benchmarks that ran on the CPU stand-in are flagged as such: their
timings are host timings of the engine, never GPU numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from dnibench.bench.pipeline_report import Target
from dnibench.bench.results_file import read_results

#: (numerator, denominator) throughput ratios the gpu suite's targets report.
GPU_RATIOS = (
    ("streams-dni-m8", "streams-gpipe-m8"),
    ("streams-dni-m8", "streams-1f1b-m8"),
    ("streams-unlock-m8", "streams-gpipe-m8"),
    ("streams-unlock-m8", "streams-1f1b-m8"),
    ("dist-gpipe-k2-m8", "dist-torch-gpipe-k2-m8"),
    ("dist-1f1b-k2-m8", "dist-torch-1f1b-k2-m8"),
    ("streams-gpipe-k2-m8", "dist-torch-gpipe-k2-m8"),
    ("streams-1f1b-k2-m8", "dist-torch-1f1b-k2-m8"),
)
EFFICIENCY_GOAL = 0.90
NVML_OVERHEAD_GOAL = 0.01


def _median(frame: pd.DataFrame, bench: str, metric: str, stage: int | None = -1) -> float:
    """Median over repeats of ``metric`` (at ``stage``; over all stages when ``None``)."""
    rows = frame[(frame.benchmark == bench) & (frame.metric == metric)]
    if stage is not None:
        rows = rows[rows.stage == stage]
    if rows.empty:
        return math.nan
    return float(rows.groupby("stage").value.median().mean())


def _cell(value: float, spec: str = ".3f") -> str:
    return "—" if math.isnan(value) else format(value, spec)


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.2f} %"


def _span_idle(frame: pd.DataFrame, bench: str) -> tuple[float, float]:
    """Mean over stages of (1 - busy fraction) and of the lock-idle fraction."""
    busy = _median(frame, bench, "busy_fraction", None)
    waits = _median(frame, bench, "wait_activation_fraction", None)
    waits += _median(frame, bench, "wait_gradient_fraction", None)
    return 1 - busy, waits


def _gpu_benchmarks(frame: pd.DataFrame) -> list[str]:
    telemetry = frame.metric.str.startswith("gpu_") | (frame.metric == "stream_gpus")
    names = set(frame[telemetry].benchmark)
    return [str(b) for b in frame.benchmark.drop_duplicates() if b in names]


def telemetry_table(frame: pd.DataFrame) -> list[str]:
    """One Markdown row per GPU or streams benchmark."""
    head = [
        "| benchmark | mode | K | m | throughput (samples/s) | pipeline efficiency | "
        "span idle | lock idle | NVML util % | power W | energy J/sample | NVML overhead |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = []
    for bench in _gpu_benchmarks(frame):
        first = frame[frame.benchmark == bench].iloc[0]
        idle, lock = _span_idle(frame, bench)
        cells = [
            bench,
            str(first["mode"]),
            str(int(first["stages"])),
            str(int(first["microbatches"])),
            _cell(_median(frame, bench, "throughput"), ".0f"),
            _cell(_median(frame, bench, "pipeline_efficiency")),
            _cell(idle),
            _cell(lock),
            _cell(_median(frame, bench, "gpu_utilisation", None), ".1f"),
            _cell(_median(frame, bench, "gpu_power", None), ".0f"),
            _cell(_median(frame, bench, "gpu_energy_per_sample", None), ".4f"),
            _percent(_median(frame, bench, "nvml_overhead", None)),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return head + rows


def gpu_targets(frame: pd.DataFrame) -> list[Target]:
    """The GPU issue's targets, for the benchmarks of the ``gpu`` suite this run holds."""
    names = set(frame.benchmark)
    on_gpu = {b for b in names if _median(frame, b, "stream_gpus") >= 1}
    out: list[Target] = []
    for mode in ("dni", "unlock"):
        for bench in sorted(b for b in on_gpu if b.startswith(f"streams-{mode}-m")):
            eff = _median(frame, bench, "pipeline_efficiency")
            out.append(
                Target(f"{bench} pipeline efficiency", eff, EFFICIENCY_GOAL, True, "on streams")
            )
    for numerator, denominator in GPU_RATIOS:
        if {numerator, denominator} <= names:
            a = _median(frame, numerator, "throughput")
            b = _median(frame, denominator, "throughput")
            out.append(
                Target(
                    f"{numerator} / {denominator} throughput",
                    a / b,
                    1.0,
                    True,
                    f"{_cell(a, '.0f')} / {_cell(b, '.0f')} samples/s (goal: not slower)",
                )
            )
    overheads = frame[frame.metric == "nvml_overhead"]
    if not overheads.empty:
        worst = overheads.groupby("benchmark").value.median().idxmax()
        out.append(
            Target(
                "NVML sampling overhead (sampler time / wall, worst benchmark)",
                float(overheads.groupby("benchmark").value.median().max()),
                NVML_OVERHEAD_GOAL,
                False,
                f"worst: {worst}",
            )
        )
    for bench in sorted(names):
        off = f"{bench}-nvml-off"
        if off in names:
            on_rate = _median(frame, bench, "throughput")
            off_rate = _median(frame, off, "throughput")
            out.append(
                Target(
                    f"{bench} NVML cost: throughput lost with sampling on (paired, noisy)",
                    (off_rate - on_rate) / off_rate,
                    NVML_OVERHEAD_GOAL,
                    False,
                    f"off {_cell(off_rate, '.0f')}, on {_cell(on_rate, '.0f')} samples/s",
                )
            )
    return out


def gpu_section_markdown(frame: pd.DataFrame) -> str | None:
    """The section's Markdown, or ``None`` when the run holds no GPU or streams benchmark."""
    if not _gpu_benchmarks(frame):
        return None
    lines = ["## GPU: streams, nccl and NVML", ""]
    standin = frame[(frame.metric == "stream_gpus") & (frame.value == 0)].benchmark.unique()
    if len(standin):
        lines += [
            f"**{len(standin)} streams benchmark(s) ran on the CPU stand-in for CUDA streams** "
            f"({', '.join(sorted(map(str, standin)))}): host timings of the engine, not GPU "
            "numbers.",
            "",
        ]
    lines += [
        "Span idle is 1 - busy fraction of each stage's stream (mean over stages), lock idle "
        "the part of it spent waiting on a neighbour; NVML utilisation is the share of time "
        "any kernel ran on the GPU, so stages sharing one GPU can keep it busy while each "
        "stream idles. Energy per sample is the GPU energy counter over the whole benchmark "
        "(warm-up included) / samples trained.",
        "",
        *telemetry_table(frame),
        "",
    ]
    targets = gpu_targets(frame)
    if targets:
        lines += [
            "### GPU targets",
            "",
            "| target | measured | goal | verdict | detail |",
            "|---|---:|---:|---|---|",
            *(target.row() for target in targets),
            "",
        ]
    return "\n".join(lines)


def gpu_section(run_dir: Path) -> str | None:
    """The section for ``run_dir`` (see :func:`gpu_section_markdown`)."""
    return gpu_section_markdown(read_results(Path(run_dir)))
