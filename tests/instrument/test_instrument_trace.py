"""Chrome trace and timeline frame: events, units, alignment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dnibench.instrument import SpanKind as K
from dnibench.instrument import chrome_trace, timeline_frame, write_chrome_trace

BASE = 7_000_000_000


def two_stages() -> list[np.ndarray]:
    s0 = np.array(
        [
            (K.STEP, -1, BASE, BASE + 10_000),
            (K.FORWARD, 3, BASE, BASE + 1_500),
            (K.SEND, 3, BASE + 1_500, BASE + 2_000),
            (K.WAIT_GRADIENT, -1, BASE + 2_000, BASE + 6_000),
            (K.BACKWARD, 3, BASE + 6_000, BASE + 9_000),
        ],
        dtype=np.int64,
    )
    s1 = np.array(
        [
            (K.WAIT_ACTIVATION, -1, BASE + 500, BASE + 2_000),
            (K.RECV, 3, BASE + 2_000, BASE + 2_500),
            (K.SG_UPDATE, 3, BASE + 2_500, BASE + 3_000),
        ],
        dtype=np.int64,
    )
    return [s0, s1]


def complete(doc: dict) -> list[dict]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def test_events_units_threads_and_names() -> None:
    doc = chrome_trace(two_stages())
    assert doc["displayTimeUnit"] == "ms"
    json.dumps(doc)  # serialisable as is
    events = {(e["pid"], e["name"]): e for e in complete(doc)}
    assert len(events) == 8
    fwd = events[(0, "forward mb3")]
    assert (fwd["ts"], fwd["dur"], fwd["tid"], fwd["cat"]) == (0.0, 1.5, 0, "compute")
    assert isinstance(fwd["ts"], float)
    assert events[(0, "send mb3")]["tid"] == 2
    assert events[(0, "send mb3")]["cat"] == "comm"
    wait = events[(0, "wait_gradient")]
    assert (wait["ts"], wait["dur"], wait["tid"], wait["cat"]) == (2.0, 4.0, 1, "wait")
    step = events[(0, "step")]
    assert (step["tid"], step["cat"], step["dur"]) == (3, "step", 10.0)
    assert events[(1, "wait_activation")]["ts"] == 0.5
    assert events[(1, "sg_update mb3")]["cat"] == "compute"
    assert events[(1, "recv mb3")]["tid"] == 2


def test_metadata_names_processes_and_threads() -> None:
    doc = chrome_trace(two_stages(), labels=["embed", "head"])
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    procs = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    assert procs == {0: "embed", 1: "head"}
    threads = {(e["pid"], e["tid"]) for e in meta if e["name"] == "thread_name"}
    assert threads == {(p, t) for p in (0, 1) for t in range(4)}
    default = chrome_trace(two_stages())
    names = [e["args"]["name"] for e in default["traceEvents"] if e["name"] == "process_name"]
    assert names == ["stage 0", "stage 1"]


def test_offsets_shift_timestamps() -> None:
    spans = two_stages()
    # Stage 1's clock runs 1 ms ahead of stage 0's: subtracting it moves stage 1 earlier.
    spans[1][:, 2:] += 1_000_000
    doc = chrome_trace(spans, offsets_ns=[0, -1_000_000])
    events = {(e["pid"], e["name"]): e for e in complete(doc)}
    assert events[(1, "wait_activation")]["ts"] == 0.5
    doc = chrome_trace(two_stages(), offsets_ns=[0, -1_000])
    events = {(e["pid"], e["name"]): e for e in complete(doc)}
    # Stage 1 now starts first, so it defines time zero.
    assert events[(1, "wait_activation")]["ts"] == 0.0
    assert events[(0, "forward mb3")]["ts"] == 0.5
    with pytest.raises(ValueError, match="offsets"):
        chrome_trace(two_stages(), offsets_ns=[0])


def test_write_chrome_trace_round_trips(tmp_path: Path) -> None:
    path = write_chrome_trace(tmp_path / "run" / "trace.json", two_stages(), labels=["a", "b"])
    doc = json.loads(path.read_text())
    assert doc == chrome_trace(two_stages(), labels=["a", "b"])
    assert [p.name for p in path.parent.iterdir()] == ["trace.json"]


def test_empty_stage_is_fine() -> None:
    doc = chrome_trace([two_stages()[0], np.empty((0, 4), dtype=np.int64)])
    assert {e["pid"] for e in complete(doc)} == {0}
    assert len(timeline_frame([np.empty((0, 4), dtype=np.int64)])) == 0


def test_timeline_frame() -> None:
    frame = timeline_frame(two_stages(), offsets_ns=[0, 1_000])
    assert list(frame.columns) == ["stage", "kind", "mb", "start_s", "end_s"]
    assert len(frame) == 8
    row = frame[(frame.stage == 1) & (frame.kind == "sg_update")].iloc[0]
    assert row.mb == 3
    assert row.start_s == pytest.approx(3_500e-9)
    assert row.end_s == pytest.approx(4_000e-9)
    assert frame.start_s.min() == 0.0
    assert (frame.end_s >= frame.start_s).all()
