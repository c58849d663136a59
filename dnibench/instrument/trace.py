"""Merged timelines: Chrome trace-event JSON and a tidy frame for plots.

Spans from all stages are shifted onto one clock (per-stage offsets from
:mod:`dnibench.instrument.clock`) and made relative to the earliest span, so
the trace starts at zero and opens in Perfetto or chrome://tracing with one
process per stage and one thread per kind of activity: compute, waits,
communication, step markers. Separate threads keep nested spans (a STEP
around forwards, a wait inside a step) from hiding each other.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.instrument.spans import KIND, MB, T0, T1, SpanKind

__all__ = ["chrome_trace", "timeline_frame", "write_chrome_trace"]

#: Trace thread per group of kinds: (tid, category, thread name).
_COMPUTE = (0, "compute", "compute")
_WAIT = (1, "wait", "lock wait")
_COMM = (2, "comm", "send/recv")
_STEP = (3, "step", "step")
_THREADS = (_COMPUTE, _WAIT, _COMM, _STEP)


def _group(kind: int) -> tuple[int, str, str]:
    if kind in SpanKind.WAITS:
        return _WAIT
    if kind in SpanKind.COMM:
        return _COMM
    if kind == SpanKind.STEP:
        return _STEP
    return _COMPUTE


def _kind_name(kind: int) -> str:
    try:
        return SpanKind(kind).name.lower()
    except ValueError:  # a kind newer than this reader: keep it visible
        return f"kind{kind}"


def _aligned(
    spans_by_stage: Sequence[np.ndarray], offsets_ns: Sequence[int] | None
) -> tuple[list[np.ndarray], int]:
    """Copies of the span arrays on the common clock, and their earliest start."""
    if offsets_ns is not None and len(offsets_ns) != len(spans_by_stage):
        raise ValueError(f"got {len(offsets_ns)} clock offsets for {len(spans_by_stage)} stages")
    out: list[np.ndarray] = []
    for k, spans in enumerate(spans_by_stage):
        arr = np.array(spans, dtype=np.int64).reshape(-1, 4)
        if offsets_ns is not None:
            arr[:, T0] += int(offsets_ns[k])
            arr[:, T1] += int(offsets_ns[k])
        out.append(arr)
    starts = [int(a[:, T0].min()) for a in out if len(a)]
    return out, min(starts, default=0)


def chrome_trace(
    spans_by_stage: list[np.ndarray],
    offsets_ns: list[int] | None = None,
    labels: list[str] | None = None,
) -> dict[str, object]:
    """Chrome trace-event document for all stages.

    Complete events (``"ph": "X"``) with ``ts``/``dur`` in microseconds, as
    the format requires, relative to the earliest aligned span; ``pid`` is
    the stage, ``tid`` 0 compute, 1 waits, 2 send/recv, 3 STEP markers.
    Metadata events name each process (``labels[k]`` or ``"stage k"``) and
    thread. ``offsets_ns[k]`` is added to stage k's times first.
    """
    if labels is not None and len(labels) != len(spans_by_stage):
        raise ValueError(f"got {len(labels)} labels for {len(spans_by_stage)} stages")
    arrays, origin = _aligned(spans_by_stage, offsets_ns)
    events: list[dict[str, object]] = []
    for k, arr in enumerate(arrays):
        name = labels[k] if labels is not None else f"stage {k}"
        events.append({"ph": "M", "name": "process_name", "pid": k, "args": {"name": name}})
        events.append(
            {"ph": "M", "name": "process_sort_index", "pid": k, "args": {"sort_index": k}}
        )
        for tid, _, thread in _THREADS:
            events.append(
                {"ph": "M", "name": "thread_name", "pid": k, "tid": tid, "args": {"name": thread}}
            )
        step = 0
        for kind, mb, t0, t1 in arr[np.argsort(arr[:, T0], kind="stable")].tolist():
            tid, cat, _ = _group(kind)
            label = _kind_name(kind)
            args: dict[str, int] = {}
            if mb >= 0:
                label = f"{label} mb{mb}"
                args["mb"] = mb
            if kind == SpanKind.STEP:
                args["step"] = step
                step += 1
            events.append(
                {
                    "ph": "X",
                    "name": label,
                    "cat": cat,
                    "pid": k,
                    "tid": tid,
                    "ts": (t0 - origin) / 1e3,
                    "dur": (t1 - t0) / 1e3,
                    "args": args,
                }
            )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_chrome_trace(
    path: str | os.PathLike[str],
    spans_by_stage: list[np.ndarray],
    offsets_ns: list[int] | None = None,
    labels: list[str] | None = None,
) -> Path:
    """Write :func:`chrome_trace` to ``path`` atomically; returns the path.

    Written to a temporary file and renamed, so an interrupted run never
    leaves a truncated trace that Perfetto refuses to open.
    """
    doc = chrome_trace(spans_by_stage, offsets_ns, labels)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def timeline_frame(
    spans_by_stage: list[np.ndarray], offsets_ns: list[int] | None = None
) -> pd.DataFrame:
    """One row per span: stage, kind (lower-case name), mb, start_s, end_s.

    Times are aligned with ``offsets_ns`` and relative to the earliest span,
    in seconds, ready for a per-stage timeline plot (e.g. ``broken_barh``).
    """
    arrays, origin = _aligned(spans_by_stage, offsets_ns)
    frames = [
        pd.DataFrame(
            {
                "stage": np.full(len(arr), k, dtype=np.int64),
                "kind": [_kind_name(v) for v in arr[:, KIND].tolist()],
                "mb": arr[:, MB],
                "start_s": (arr[:, T0] - origin) / 1e9,
                "end_s": (arr[:, T1] - origin) / 1e9,
            }
        )
        for k, arr in enumerate(arrays)
    ]
    if not frames:
        return pd.DataFrame(
            {
                "stage": pd.Series(dtype=np.int64),
                "kind": pd.Series(dtype=object),
                "mb": pd.Series(dtype=np.int64),
                "start_s": pd.Series(dtype=float),
                "end_s": pd.Series(dtype=float),
            }
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["start_s", "stage"], kind="stable", ignore_index=True)
