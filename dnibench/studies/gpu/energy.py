"""Joules per sample over the timed window, with the GPU's idle power beside it.

Energy per sample is only comparable with throughput when both cover the
same steps, so the timed window's figure (``gpu_energy_per_sample_window``,
the NVML energy counter cut at the window's edges) comes first; the whole
benchmark's (warm-up included) is shown next to it, and is all there is for
runs recorded before the window was. Idle power is measured once per run by
``tools/gpu_facts.py`` (GPU quiescent, before the suite) into
``gpu_facts.json``; energy above idle is what the work itself cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dnibench.rundir.layout import GPU_FACTS
from dnibench.rundir.reader import read_gpu_facts
from dnibench.studies.gpu.overlap import median_metric

__all__ = ["FACTS_FILE", "energy_lines", "read_facts"]

FACTS_FILE = GPU_FACTS


def read_facts(run_dir: Path) -> Mapping[str, object]:
    """The run's GPU facts ({} when absent or unreadable: the section says so)."""
    return read_gpu_facts(Path(run_dir))


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or math.isnan(value) else format(value, spec)


def energy_lines(frame: pd.DataFrame, facts: Mapping[str, object] | None = None) -> list[str]:
    """The energy table of every benchmark with an energy reading ([] without)."""
    metrics = set(frame.metric)
    if not {"gpu_energy", "gpu_energy_window"} & metrics:
        return [
            "### Energy per sample",
            "",
            "No GPU energy reading in this run (no GPU, no driver, or sampling off).",
            "",
        ]
    idle_w = (facts or {}).get("idle_power_w")
    idle_w = float(idle_w) if isinstance(idle_w, int | float) else math.nan
    lines = [
        "### Energy per sample",
        "",
        "Timed window: the NVML energy counter interpolated at the window's edges (warm-up "
        "left out), over the samples trained in it. Whole run: the counter from the first "
        "step to the last, warm-up included. Above idle subtracts idle power x window time.",
        "",
        f"Idle power: {_fmt(idle_w, '.1f')} W"
        + ("" if not math.isnan(idle_w) else " (not measured: no gpu_facts.json in this run)")
        + ".",
        "",
        "| benchmark | J/sample (timed window) | J/sample above idle | window power W | "
        "J/sample (whole run) | NVML samples in window |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = frame[frame.metric.isin(["gpu_energy", "gpu_energy_window"])].benchmark
    for bench in names.drop_duplicates():
        per_sample = median_metric(frame, bench, "gpu_energy_per_sample_window", None)
        power = median_metric(frame, bench, "gpu_power_window", None)
        above = math.nan
        if not (math.isnan(per_sample) or math.isnan(power) or math.isnan(idle_w)) and power > 0:
            above = per_sample * (1 - idle_w / power)  # E - P_idle * t, with t = E / P
        cells = [
            str(bench),
            _fmt(per_sample, ".4g"),
            _fmt(above, ".4g"),
            _fmt(power, ".0f"),
            _fmt(median_metric(frame, bench, "gpu_energy_per_sample", None), ".4g"),
            _fmt(median_metric(frame, bench, "nvml_window_samples", None), ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if "gpu_energy_window" not in metrics:
        lines += [
            "",
            "This run recorded no timed-window energy, only the whole benchmark's (warm-up "
            "included): its rows predate the window figures.",
        ]
    lines.append("")
    return lines
