"""SpanRecorder: layout, nesting, overflow and the spans-off mode."""

from __future__ import annotations

import numpy as np
import pytest

from dnibench.instrument import SpanKind, SpanRecorder


def test_kind_groups_partition_the_kinds() -> None:
    assert {
        SpanKind.FORWARD,
        SpanKind.BACKWARD,
        SpanKind.BACKWARD_INPUT,
        SpanKind.BACKWARD_WEIGHT,
        SpanKind.SG_FORWARD,
        SpanKind.SG_UPDATE,
        SpanKind.SI_FORWARD,
        SpanKind.SI_UPDATE,
        SpanKind.OPTIMIZER,
    } == SpanKind.COMPUTE
    assert {SpanKind.WAIT_ACTIVATION, SpanKind.WAIT_GRADIENT} == SpanKind.WAITS
    for kind in (SpanKind.SEND, SpanKind.RECV, SpanKind.STEP):
        assert kind not in SpanKind.COMPUTE
        assert kind not in SpanKind.WAITS
    assert len(SpanKind) == 14  # the group sets are not members
    # Stored as integers in span arrays and trace files: values never move.
    assert (SpanKind.STEP, SpanKind.BACKWARD_INPUT, SpanKind.BACKWARD_WEIGHT) == (11, 12, 13)
    assert np.int64(SpanKind.BACKWARD) in SpanKind.COMPUTE  # works on raw array values


def test_record_fills_rows_in_order() -> None:
    rec = SpanRecorder(capacity=8)
    rec.record(SpanKind.FORWARD, 3, 10, 20)
    rec.record(SpanKind.SEND, -1, 20, 25)
    spans = rec.spans()
    assert spans.dtype == np.int64
    np.testing.assert_array_equal(spans, [[0, 3, 10, 20], [SpanKind.SEND, -1, 20, 25]])
    assert len(rec) == 2
    assert rec.dropped == 0


def test_span_context_nests_and_survives_exceptions() -> None:
    rec = SpanRecorder(capacity=8)
    with rec.span(SpanKind.STEP):
        with rec.span(SpanKind.FORWARD, 0):
            pass
        with pytest.raises(RuntimeError), rec.span(SpanKind.BACKWARD, 1):
            raise RuntimeError("boom")
    kinds = rec.spans()[:, 0].tolist()
    assert kinds == [SpanKind.FORWARD, SpanKind.BACKWARD, SpanKind.STEP]
    (_, fmb, f0, f1), (_, bmb, b0, b1), (_, smb, s0, s1) = rec.spans().tolist()
    assert (fmb, bmb, smb) == (0, 1, -1)
    assert s0 <= f0 <= f1 <= b0 <= b1 <= s1


def test_span_objects_are_reused() -> None:
    rec = SpanRecorder(capacity=4)
    assert rec.span(SpanKind.FORWARD) is rec.span(SpanKind.BACKWARD, 2)


def test_begin_end() -> None:
    rec = SpanRecorder(capacity=4)
    t0 = rec.begin()
    rec.end(SpanKind.WAIT_GRADIENT, 5, t0)
    kind, mb, a, b = rec.spans()[0].tolist()
    assert (kind, mb, a) == (SpanKind.WAIT_GRADIENT, 5, t0)
    assert b >= a


def test_overflow_counts_dropped_and_clear_resets() -> None:
    rec = SpanRecorder(capacity=3)
    for i in range(5):
        rec.record(SpanKind.FORWARD, i, i, i + 1)
    with rec.span(SpanKind.STEP):
        pass
    assert len(rec.spans()) == 3
    assert rec.spans()[:, 1].tolist() == [0, 1, 2]
    assert rec.dropped == 3
    rec.clear()
    assert len(rec.spans()) == 0
    assert rec.dropped == 0
    rec.record(SpanKind.OPTIMIZER, -1, 1, 2)
    assert rec.spans()[:, 0].tolist() == [SpanKind.OPTIMIZER]


def test_disabled_recorder_keeps_only_steps() -> None:
    rec = SpanRecorder(capacity=8, enabled=False)
    rec.record(SpanKind.FORWARD, 0, 1, 2)
    with rec.span(SpanKind.BACKWARD, 0):
        pass
    rec.end(SpanKind.SEND, 0, rec.begin())
    rec.record(SpanKind.STEP, -1, 1, 9)
    with rec.span(SpanKind.STEP):
        pass
    rec.end(SpanKind.STEP, -1, rec.begin())
    assert rec.spans()[:, 0].tolist() == [SpanKind.STEP] * 3
    assert rec.dropped == 0


def test_spans_returns_a_copy() -> None:
    rec = SpanRecorder(capacity=2)
    rec.record(SpanKind.FORWARD, 0, 1, 2)
    first = rec.spans()
    rec.clear()
    rec.record(SpanKind.BACKWARD, 7, 3, 4)
    assert first.tolist() == [[SpanKind.FORWARD, 0, 1, 2]]


def test_bad_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        SpanRecorder(capacity=0)
