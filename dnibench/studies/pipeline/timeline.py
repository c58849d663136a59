"""Per-stage timelines of a steady-state window, drawn from the run's Chrome traces.

The traces in ``traces/`` are the only record of *when* each stage computed,
waited or sent, so the timeline figure reads them back: the events are turned
into span arrays again and laid out by
:func:`dnibench.instrument.trace.timeline_frame`, the same function the
instrumentation offers for plots. A window of a few steps right after warm-up
is drawn, because the first steps include allocator and thread start-up noise
that says nothing about the schedule.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from dnibench.instrument.spans import SpanKind
from dnibench.instrument.trace import timeline_frame
from dnibench.report.style import KIND_COLOURS, figure, save, styled
from dnibench.rundir import reader
from dnibench.rundir.layout import PLOTS
from dnibench.rundir.reader import RunData, first_trace, load_run

__all__ = ["INTERESTING", "choose_benchmarks", "load_trace", "plot_timeline", "trace_path"]

#: Benchmarks whose timelines tell the story of the grid, drawn first when present.
INTERESTING = ("gpipe-m8", "1f1b-m8", "dni-m8", "unlock-m8", "sequential-m1", "dni-m1")
MAX_ROWS = 6
_KIND_BY_NAME = {kind.name.lower(): int(kind) for kind in SpanKind}


def trace_path(run: RunData, bench: str) -> Path | None:
    """The trace file of ``bench``: its only launch's, or the first repeat's (``NAME-r0``)."""
    if not bench or "/" in bench or "\\" in bench or bench.startswith("."):
        return None  # not a file name the session could have written
    return first_trace(run.run_dir, bench)


def _kind(name: str) -> int | None:
    head = name.split(" ", 1)[0].lower()
    if head in _KIND_BY_NAME:
        return _KIND_BY_NAME[head]
    if head.startswith("kind") and head[4:].isdigit():
        return int(head[4:])
    return None


def load_trace(path: Path) -> pd.DataFrame | None:
    """Spans of a Chrome trace as :func:`timeline_frame` rows plus a ``group`` column.

    ``group`` is compute, wait, comm or step. Returns ``None`` for a file
    that is not a readable trace, so one damaged trace costs one row of the
    figure rather than the whole report.
    """
    try:
        doc: Any = reader.load_trace(path)
        events = doc["traceEvents"] if isinstance(doc, dict) else doc
        spans: dict[int, list[tuple[int, int, int, int]]] = {}
        for event in events:
            if event.get("ph") != "X":
                continue
            kind = _kind(str(event.get("name", "")))
            if kind is None:
                continue
            t0 = round(float(event["ts"]) * 1e3)
            t1 = t0 + round(float(event.get("dur", 0.0)) * 1e3)
            mb = int((event.get("args") or {}).get("mb", -1))
            spans.setdefault(int(event.get("pid", 0)), []).append((kind, mb, t0, t1))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not spans:
        return None
    pids = sorted(spans)
    frame = timeline_frame([np.array(spans[p], dtype=np.int64) for p in pids])
    frame["stage"] = [pids[s] for s in frame["stage"]]
    frame["group"] = [_group(k) for k in frame["kind"]]
    return frame


def _group(kind: str) -> str:
    value = _KIND_BY_NAME.get(kind)
    if value is None:
        return "compute"
    if value in SpanKind.WAITS:
        return "wait"
    if value in SpanKind.COMM:
        return "comm"
    return "step" if value == SpanKind.STEP else "compute"


def steady_window(frame: pd.DataFrame, warmup: int, microbatches: int) -> tuple[float, float, str]:
    """Start and end (s) of a few steps right after warm-up, and a label naming them.

    Enough steps to show about a dozen microbatches (2 to 8 steps), measured
    on the first stage's step markers; without markers, the middle fifth.
    """
    first = frame["stage"].min()
    steps = frame[(frame["group"] == "step") & (frame["stage"] == first)].sort_values("start_s")
    if steps.empty:
        lo, hi = float(frame["start_s"].min()), float(frame["end_s"].max())
        span = hi - lo
        return lo + 0.4 * span, lo + 0.6 * span, "middle fifth of the run"
    count = min(len(steps), max(2, min(8, math.ceil(12 / max(microbatches, 1)))))
    start = min(max(warmup, 0), len(steps) - count)
    chosen = steps.iloc[start : start + count]
    label = f"steps {start}-{start + count - 1}"
    return float(chosen["start_s"].iloc[0]), float(chosen["end_s"].iloc[-1]), label


def choose_benchmarks(run: RunData, benchmarks: list[str] | None = None) -> list[str]:
    """Up to six benchmarks with traces: ``benchmarks`` if given, else the interesting ones.

    Falls back to the first benchmarks of the run when none of
    :data:`INTERESTING` has a trace (a custom grid).
    """
    names = benchmarks if benchmarks is not None else list(INTERESTING)
    chosen = [b for b in names if trace_path(run, b) is not None]
    if not chosen and benchmarks is None:
        chosen = [b for b in run.benchmarks() if trace_path(run, b) is not None]
    return chosen[:MAX_ROWS]


def _draw(ax: Axes, frame: pd.DataFrame, lo: float, hi: float) -> list[int]:
    """Draw one benchmark's window on ``ax``: a lane per stage, a colour per group."""
    stages = sorted(int(s) for s in frame["stage"].unique())
    visible = frame[(frame["end_s"] > lo) & (frame["start_s"] < hi)]
    for lane, stage in enumerate(stages):
        rows = visible[visible["stage"] == stage]
        for group in ("compute", "wait", "comm"):
            part = rows[rows["group"] == group]
            if part.empty:
                continue
            start = (part["start_s"].clip(lower=lo) - lo) * 1e3
            width = (part["end_s"].clip(upper=hi) - lo) * 1e3 - start
            bars = list(zip(start.to_numpy(), width.to_numpy(), strict=True))
            ax.broken_barh(bars, (lane - 0.4, 0.8), facecolors=KIND_COLOURS[group])
        steps = rows[(rows["group"] == "step") & (rows["start_s"] >= lo) & (rows["start_s"] < hi)]
        marks = ((steps["start_s"] - lo) * 1e3).to_numpy()
        ax.vlines(marks, lane - 0.48, lane + 0.48, color="black", linewidth=1.0)
    return stages


def plot_timeline(
    run: RunData | Path | str,
    out_dir: Path | None = None,
    benchmarks: list[str] | None = None,
) -> Path | None:
    """Steady-state timeline of up to six benchmarks, one row each, one lane per stage.

    Green is compute, red lock wait, blue send/receive; thin lines mark step
    starts (per stage). Returns ``None`` when no chosen benchmark has a readable trace.
    """
    run = run if isinstance(run, RunData) else load_run(Path(run))
    loaded = []
    for bench in choose_benchmarks(run, benchmarks):
        path = trace_path(run, bench)
        frame = load_trace(path) if path is not None else None
        if frame is not None and not frame.empty:
            loaded.append((bench, frame))
    if not loaded:
        return None
    with styled():
        fig = figure(11.0, 0.6 + sum(1.0 + 0.45 * f["stage"].nunique() for _, f in loaded))
        axes = fig.subplots(len(loaded), 1, squeeze=False)[:, 0]
        for ax, (bench, frame) in zip(axes, loaded, strict=True):
            rows = run.results[run.results["benchmark"] == bench]
            micro = int(rows["microbatches"].max()) if len(rows) else 1
            lo, hi, label = steady_window(frame, run.warmup(bench), micro)
            stages = _draw(ax, frame, lo, hi)
            ax.set_yticks(range(len(stages)), [f"stage {s}" for s in stages])
            ax.set_ylim(len(stages) - 0.5, -0.5)
            ax.set_xlim(0, (hi - lo) * 1e3)
            ax.set_title(f"{bench}: {label} (m={micro})", loc="left", fontsize="medium")
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlabel("time since window start (ms)")
        handles = [Patch(color=KIND_COLOURS[g], label=g) for g in ("compute", "wait", "comm")]
        fig.legend(handles=handles, loc="outside upper right", ncols=3, fontsize="small")
        return save(fig, (Path(out_dir) if out_dir else run.run_dir / PLOTS) / "timeline.png")
