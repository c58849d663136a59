"""The GPU section of a report: streams and nccl runs next to their NVML telemetry.

Every run whose rows hold GPU telemetry (``gpu_*`` metrics from NVML) or a
streams benchmark (``stream_gpus``) gets this section. Per benchmark it puts
the span-based view (throughput, pipeline efficiency, idle time of the stage
streams) next to what NVML saw on the GPU (utilisation, power, energy per
sample, sampling cost), because the two disagree in instructive ways: NVML
counts a GPU as busy whenever any kernel runs, so K stages sharing one GPU
can show high utilisation while every stage stream still idles on its locks.

When the run holds the ``gpu`` suite's benchmarks, the GPU targets are
checked too: DNI and unlock pipeline efficiency on streams, same-run ratios
against GPipe, 1F1B and the torch peers, and the NVML sampling overhead.
Streams benchmarks that ran on the CPU stand-in are flagged as such: their
timings are host timings of the engine, never GPU numbers.

The gpu-quick suite adds what a short device run must show at a glance: the
overlap of the stage streams at two model sizes and whether its premise held
(:mod:`gpu_overlap`), each stage's span idle against NVML utilisation and SM
activity, energy per sample over the timed window next to idle power
(:mod:`gpu_energy`), dni and unlock efficiency, and the run's declared
same-run ratios.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dnibench.modes import DNI, UNLOCK
from dnibench.report.verdict import Target
from dnibench.rundir.reader import read_config, read_results
from dnibench.studies.gpu.energy import energy_lines, read_facts
from dnibench.studies.gpu.overlap import (
    SIZE_SUFFIXES,
    median_metric,
    overlap_lines,
    premise,
    span_against_nvml_lines,
)

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


_median = median_metric


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
    """The GPU targets, for the benchmarks of the ``gpu`` suite this run holds."""
    names = set(frame.benchmark)
    on_gpu = {b for b in names if _median(frame, b, "stream_gpus") >= 1}
    # dist benchmarks carry no stream_gpus: GPU telemetry says they ran on one.
    on_gpu |= set(frame[frame.metric.str.startswith("gpu_")].benchmark)
    out: list[Target] = []
    for mode in (DNI.name, UNLOCK.name):
        for bench in sorted(b for b in on_gpu if b.startswith(f"streams-{mode}-m")):
            eff = _median(frame, bench, "pipeline_efficiency")
            out.append(
                Target(
                    f"{bench} pipeline efficiency", eff, EFFICIENCY_GOAL, ">=", detail="on streams"
                )
            )
    for numerator, denominator in GPU_RATIOS:
        if {numerator, denominator} <= on_gpu:  # stand-in timings are never GPU targets
            a = _median(frame, numerator, "throughput")
            b = _median(frame, denominator, "throughput")
            out.append(
                Target(
                    f"{numerator} / {denominator} throughput",
                    a / b,
                    1.0,
                    ">=",
                    detail=f"{_cell(a, '.0f')} / {_cell(b, '.0f')} samples/s (goal: not slower)",
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
                "<=",
                detail=f"worst: {worst}",
            )
        )
    for bench in sorted(names):
        off = f"{bench}-nvml-off"
        if off in names and {bench, off} <= on_gpu:
            on_rate = _median(frame, bench, "throughput")
            off_rate = _median(frame, off, "throughput")
            out.append(
                Target(
                    f"{bench} NVML cost: throughput lost with sampling on (paired, noisy)",
                    (off_rate - on_rate) / off_rate,
                    NVML_OVERHEAD_GOAL,
                    "<=",
                    detail=f"off {_cell(off_rate, '.0f')}, on {_cell(on_rate, '.0f')} samples/s",
                )
            )
    return out


def efficiency_lines(frame: pd.DataFrame) -> list[str]:
    """Streams pipeline efficiency of dni and unlock at m = 1 and 8, per model size."""
    names = set(frame.benchmark)
    rows = []
    for size, suffix in SIZE_SUFFIXES.items():
        for mode in (DNI.name, UNLOCK.name):
            cells = [
                _cell(_median(frame, f"streams-{mode}-m{m}{suffix}", "pipeline_efficiency"))
                for m in (1, 8)
            ]
            if any(f"streams-{mode}-m{m}{suffix}" in names for m in (1, 8)):
                rows.append(f"| {mode} | {size} | {cells[0]} | {cells[1]} |")
    if not rows:
        return []
    return [
        "### Streams pipeline efficiency",
        "",
        "Throughput / ideal throughput (microbatch samples / the slowest stage's busy time "
        "per microbatch).",
        "",
        "| mode | size | m = 1 | m = 8 |",
        "|---|---|---:|---:|",
        *rows,
        "",
    ]


def ratio_lines(frame: pd.DataFrame, ratios: Sequence[Mapping[str, object]]) -> list[str]:
    """The run's declared same-run ratios (its config), with the overlap premise beside them."""
    names = set(frame.benchmark)
    rows = []
    for ratio in ratios:
        numerator, denominator = str(ratio["numerator"]), str(ratio["denominator"])
        if not {numerator, denominator} <= names:
            continue
        metric = str(ratio.get("metric") or "throughput")
        a = _median(frame, numerator, metric)
        b = _median(frame, denominator, metric)
        value = a / b if b else math.nan
        note = ""
        if "-single-" in denominator:
            size = "small" if denominator.endswith(SIZE_SUFFIXES["small"]) else "large"
            measured, _ = premise(frame, size)
            note = f"{size} size, overlap {_cell(measured, '.2f')}"
        rows.append(
            f"| {ratio['name']} | {numerator} | {denominator} | {_cell(a, '.0f')} | "
            f"{_cell(b, '.0f')} | {_cell(value)} | {note} |"
        )
    if not rows:
        return []
    return [
        "### Same-run ratios",
        "",
        "Median over repeats of each side (throughput unless the ratio names a metric). "
        "`dnibench check --ratios-only` gates these.",
        "",
        "| ratio | numerator | denominator | numerator value | denominator value | ratio | note |",
        "|---|---|---|---:|---:|---:|---|",
        *rows,
        "",
    ]


def gpu_section_markdown(
    frame: pd.DataFrame,
    ratios: Sequence[Mapping[str, object]] = (),
    facts: Mapping[str, object] | None = None,
) -> str | None:
    """The section's Markdown, or ``None`` when the run holds no GPU or streams benchmark.

    ``ratios`` are the run's declared ratios (its config), ``facts`` its
    gpu_facts.json (idle power, versions).
    """
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
        "stream idles. Energy per sample in this table is the GPU energy counter over the "
        "whole benchmark (warm-up included) / samples trained; the energy table below has "
        "the timed window's.",
        "",
        *telemetry_table(frame),
        "",
        *_facts_lines(facts or {}),
        *overlap_lines(frame),
        *span_against_nvml_lines(frame),
        *energy_lines(frame, dict(facts or {})),
        *efficiency_lines(frame),
        *ratio_lines(frame, ratios),
    ]
    targets = gpu_targets(frame)
    if targets:
        lines += [
            "### GPU targets",
            "",
            "| target | measured | goal | verdict | detail |",
            "|---|---:|---:|---|---|",
            *(target.detail_row() for target in targets),
            "",
        ]
    return "\n".join(lines)


def _facts_lines(facts: Mapping[str, object]) -> list[str]:
    """What tools/gpu_facts.py recorded about the GPU before the suite ran."""
    keys = ("gpu", "driver", "torch", "cuda", "precision", "sm_clock_mhz", "temperature_c")
    shown = [f"{key} {facts[key]}" for key in keys if facts.get(key) not in (None, "")]
    return [f"GPU before the run: {'; '.join(shown)}.", ""] if shown else []


def _declared_ratios(run_dir: Path) -> list[Mapping[str, object]]:
    """The ``ratios`` the run's config records ([] when absent)."""
    return [ratio.as_dict() for ratio in read_config(run_dir).ratios]


def gpu_section(run_dir: Path) -> str | None:
    """The section for ``run_dir`` (see :func:`gpu_section_markdown`)."""
    run_dir = Path(run_dir)
    return gpu_section_markdown(
        read_results(run_dir), _declared_ratios(run_dir), read_facts(run_dir)
    )
