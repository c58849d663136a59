"""How much the stage streams overlapped on one GPU, and what NVML saw meanwhile.

Overlap is the sum over stages of busy time / the window's wall time, i.e.
``sum_k busy_fraction_k``: 1 when the stages took turns, K when all K ran at
once. K streams on one GPU can only overlap when no stage's kernels fill the
GPU, so the gpu-quick suite runs two sizes and states its premise: the large
size stays at or below :data:`LARGE_OVERLAP_MAX`, the small one reaches
:data:`SMALL_OVERLAP_MIN`. Where the premise fails the section says so, since
a ratio against the single stream then does not mean what it was meant to.

Span busy on CUDA is measured by events on each stage's stream, so a stage
whose kernels queue behind another stream's counts that queueing as busy;
NVML utilisation counts the GPU busy whenever any kernel runs, however few
SMs it uses; SM activity (GPM) counts the SMs actually busy. The table puts
the three side by side and says where they disagree.
"""

from __future__ import annotations

import math

import pandas as pd

from dnibench.modes import GPIPE, ONE_F_ONE_B, unlocked_mode_names

__all__ = [
    "LARGE_OVERLAP_MAX",
    "OVERLAP_PROBES",
    "SIZE_SUFFIXES",
    "SMALL_OVERLAP_MIN",
    "median_metric",
    "overlap",
    "overlap_lines",
    "span_against_nvml_lines",
]

LARGE_OVERLAP_MAX = 1.2
SMALL_OVERLAP_MIN = 1.5
#: Benchmark-name suffix of each model size in the gpu-quick suite.
SIZE_SUFFIXES = {"large": "", "small": "-small"}
#: The m = 8 benchmarks whose schedules let stages run at once: the premise's probes.
OVERLAP_PROBES = (GPIPE.name, ONE_F_ONE_B.name, *unlocked_mode_names())
#: Readings further apart than this (as fractions of the GPU) are called a disagreement.
DISAGREEMENT = 0.15


def median_metric(frame: pd.DataFrame, bench: str, metric: str, stage: int | None = -1) -> float:
    """Median over repeats of ``metric`` (at ``stage``; the mean over stages when ``None``)."""
    rows = frame[(frame.benchmark == bench) & (frame.metric == metric)]
    if stage is not None:
        rows = rows[rows.stage == stage]
    if rows.empty:
        return math.nan
    return float(rows.groupby("stage").value.median().mean())


def stage_medians(frame: pd.DataFrame, bench: str, metric: str) -> pd.Series:
    """Per stage (index), the median over repeats of ``metric``."""
    rows = frame[(frame.benchmark == bench) & (frame.metric == metric) & (frame.stage >= 0)]
    return rows.groupby("stage").value.median().sort_index()


def overlap(frame: pd.DataFrame, bench: str) -> float:
    """Sum over stages of the median busy fraction: stage busy time / window wall time."""
    busy = stage_medians(frame, bench, "busy_fraction")
    return float(busy.sum()) if len(busy) else math.nan


def _fmt(value: float, spec: str = ".2f") -> str:
    return "—" if math.isnan(value) else format(value, spec)


def _on_gpu(frame: pd.DataFrame, bench: str) -> bool:
    return median_metric(frame, bench, "stream_gpus") >= 1


def premise(frame: pd.DataFrame, size: str) -> tuple[float, list[str]]:
    """Median overlap over the size's probe benchmarks present, and their names."""
    names = set(frame.benchmark)
    probes = [f"streams-{mode}-m8{SIZE_SUFFIXES[size]}" for mode in OVERLAP_PROBES]
    present = [p for p in probes if p in names]
    values = [overlap(frame, p) for p in present]
    values = [v for v in values if not math.isnan(v)]
    return (float(pd.Series(values).median()) if values else math.nan), present


def overlap_lines(frame: pd.DataFrame) -> list[str]:
    """The overlap table of every streams benchmark and the premise verdict ([] without)."""
    streams = [str(b) for b in frame.benchmark.drop_duplicates() if str(b).startswith("streams-")]
    if not streams:
        return []
    lines = [
        "### Overlap of the stage streams",
        "",
        "Overlap = sum over stages of busy time / window wall time (1: stages take turns; "
        "K: all run at once).",
        "",
        "| benchmark | K | m | overlap | pipeline efficiency |",
        "|---|---:|---:|---:|---:|",
    ]
    for bench in streams:
        first = frame[frame.benchmark == bench].iloc[0]
        cells = [
            bench,
            str(int(first["stages"])),
            str(int(first["microbatches"])),
            _fmt(overlap(frame, bench)),
            _fmt(median_metric(frame, bench, "pipeline_efficiency"), ".3f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    large, large_probes = premise(frame, "large")
    small, small_probes = premise(frame, "small")
    if not (large_probes and small_probes):
        return lines
    probes = large_probes + small_probes
    measured = (
        f"large {_fmt(large)} (goal <= {LARGE_OVERLAP_MAX}), small {_fmt(small)} "
        f"(goal >= {SMALL_OVERLAP_MIN}); median over {', '.join(OVERLAP_PROBES)} at m = 8"
    )
    if not all(_on_gpu(frame, p) for p in probes):
        lines += [
            f"**Overlap premise not tested**: {measured}. These ran on the CPU stand-in, "
            "where stages are host threads, not kernels sharing a GPU.",
            "",
        ]
    elif large <= LARGE_OVERLAP_MAX and small >= SMALL_OVERLAP_MIN:
        lines += [f"**Overlap premise held**: {measured}.", ""]
    else:
        lines += [
            f"**Overlap premise FAILED**: {measured}. The large size was meant to fill the "
            "GPU and the small one to leave room for the streams to overlap; ratios against "
            "the single stream do not separate the two effects in this run.",
            "",
        ]
    return lines


def _reading(busy: pd.Series, util: float, sm: float) -> str:
    """Where span busy, NVML utilisation and SM activity disagree, in words."""
    if math.isnan(util) or busy.empty:
        return "no NVML reading"
    gpu = util / 100
    low, high = float(busy.max()), min(1.0, float(busy.sum()))
    notes = []
    if gpu > high + DISAGREEMENT:
        notes.append("NVML busier than every span (kernels outside spans, or sampling lag)")
    elif gpu < low - DISAGREEMENT:
        notes.append("spans busier than NVML (a stage's span includes queueing behind others)")
    else:
        notes.append("NVML within the span range")
    if not math.isnan(sm) and gpu - sm / 100 > DISAGREEMENT:
        notes.append(f"but only {sm:.0f} % of SMs busy: kernels too small to fill the GPU")
    return "; ".join(notes)


def span_against_nvml_lines(frame: pd.DataFrame) -> list[str]:
    """Per benchmark with NVML readings: each stage's span idle next to NVML and SM activity."""
    window = "gpu_utilisation_window" in set(frame.metric)
    util_metric = "gpu_utilisation_window" if window else "gpu_utilisation"
    with_nvml = [str(b) for b in frame[frame.metric == util_metric].benchmark.drop_duplicates()]
    if not with_nvml:
        return [
            "### Span idle against NVML",
            "",
            "No NVML readings in this run (no GPU, no driver, or sampling off), so span idle "
            "has nothing to be held against; the overlap table above has it per benchmark.",
            "",
        ]
    sm_metric = "gpu_sm_active_window"
    lines = [
        "### Span idle against NVML",
        "",
        "Span idle per stage is 1 - busy fraction of its stream; NVML utilisation (share of "
        "time any kernel ran) and SM activity (share of SMs busy, from NVML's GPM counters "
        "where the GPU offers them) are for the whole GPU, "
        + ("over the timed window." if window else "over the whole benchmark (warm-up too)."),
        "A consistent GPU lies between the busiest stage and the sum of stage busy (capped at 1).",
        "",
        "| benchmark | span idle by stage | lock idle (mean) | NVML util % | SM active % | "
        "reading |",
        "|---|---|---:|---:|---:|---|",
    ]
    for bench in with_nvml:
        busy = stage_medians(frame, bench, "busy_fraction")
        idle = " / ".join(f"{1 - b:.2f}" for b in busy)
        lock = median_metric(frame, bench, "wait_activation_fraction", None)
        lock += median_metric(frame, bench, "wait_gradient_fraction", None)
        util = median_metric(frame, bench, util_metric, None)
        sm = median_metric(frame, bench, sm_metric, None)
        cells = [bench, idle or "—", _fmt(lock), _fmt(util, ".1f"), _fmt(sm, ".1f")]
        lines.append("| " + " | ".join(cells) + f" | {_reading(busy, util, sm)} |")
    if sm_metric not in set(frame.metric):
        lines.append("")
        lines.append(
            "No SM activity reading: this GPU, driver or pynvml offers no GPM counters, so "
            "only plain utilisation is shown."
        )
    lines.append("")
    return lines
